"""Copy-paste campaigns over direct messages and live chat (issue 25).

Messaging and live ask detection about every text before it is sent or shown
(`text_scans.text_verdict`, field "message" or "live_chat"); that check calls
`text_seen`, which — once the sending transaction commits (a refused message rolls back
and is never counted) — queues `tasks.fingerprint_chat_text`. The task fingerprints the
text like a comment (`campaigns.text_fingerprint_record`), so the same text from
`campaign_min_accounts` accounts within the window is one campaign and one review case,
whatever mix of comments, captions, bios, messages and chat lines carried it.

Moderation never reads or writes messaging's or live's tables: the message's id is not
known here, so the fingerprint's target is a token made at check time (`dm_text` /
`chat_text`), and a campaign that starts with one opens its case on the sender's account.
Direct messages are private: their fingerprint keeps no text (the MinHash signature and
its bands only) until the detector flags the message as a campaign member; then that
message's text, its sender and the fact that it was a direct message go into the case —
never its conversation or recipients. Fingerprints are pruned after a day by the checks
sweep. Texts under `minhash.MIN_CHARS` folded characters are never queued (most chat
lines), so the hot paths pay one normalisation and, for longer texts, one broker send."""

from __future__ import annotations

import logging
import secrets

from django.db import transaction

from apps.moderation.detection import minhash
from apps.moderation.detection.services import campaigns

logger = logging.getLogger(__name__)

# field of `text_verdict` -> (surface, fingerprint target type)
FIELDS: dict[str, tuple[str, str]] = {
    "message": ("message", "dm_text"),
    "live_chat": ("live_chat", "chat_text"),
}


def text_seen(*, author_id: int, field: str, content: str) -> bool:
    """A direct message or chat line about to be sent: fingerprint it after commit.
    Answers whether it was queued (False: not a campaign surface, or too short)."""
    found = FIELDS.get(field)
    if found is None or len(minhash.normalised(content)) < minhash.MIN_CHARS:
        return False
    from apps.moderation.detection import tasks

    # stands for the message (no query on the hot path): a retried task adds nothing
    token = secrets.randbits(62)

    def send() -> None:
        tasks.fingerprint_chat_text.delay(author_id, field, token, content[:5000])

    transaction.on_commit(send, robust=True)
    return True


def chat_text_fingerprint(*, author_id: int, field: str, token: int, content: str) -> str:
    """The task's body: fingerprint one direct message or chat line; "campaign" when it
    joined or started one."""
    from apps.accounts.models import User

    surface, target_type = FIELDS[field]
    if not User.objects.filter(pk=author_id).exists():
        return "missing"  # the account is gone (or the sending test rolled back)
    campaign = campaigns.text_fingerprint_record(
        author_id=author_id,
        surface=surface,
        target_type=target_type,
        target_id=token,
        content=content,
    )
    return "campaign" if campaign is not None else "recorded"
