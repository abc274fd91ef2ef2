"""Search and discovery (product layer): accounts, videos, sounds and hashtags.

PostgreSQL stays the source of truth; the index is derived from it through an outbox
written in the same transaction as the change (see docs/architecture.md, "Search")."""
