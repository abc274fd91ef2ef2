"""The indexing pipeline: PostgreSQL is the truth, the search index is derived from it.

- `outbox`: lower apps announce changes through their hooks (`content.hooks.content_changed`,
  `accounts.hooks.account_changed`, the account removal hook) inside the writing
  transaction; search records `IndexOutbox(kind, object_id)` rows in that transaction and
  asks for a drain after the commit.
- `documents`: what the index holds for an object, read from the owners' tables as they are
  now (an object that is gone or no longer a candidate becomes a delete).
- `pipeline`: the drain (rows claimed `FOR UPDATE SKIP LOCKED`, applied to the backend,
  deleted in the same transaction), the rebuild from scratch (`manage.py search_rebuild`)
  and the first-start rebuild; one index writer at a time (a PostgreSQL advisory lock).
"""
