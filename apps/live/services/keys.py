"""Stream keys: what OBS or a phone encoder sends to the ingest.

The plain key ("live_" + 32 url-safe random bytes) is shown once, when it is made; only its
SHA-256 is kept. A creator has at most one unrevoked key (a partial unique constraint);
rotating revokes the old one and makes a new one in one transaction. Revoking a key ends the
live it is publishing (a leaked key must stop working at once, media included).
"""

from __future__ import annotations

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.live.eligibility import go_live_refusal, require
from apps.live.models import LiveStream, StreamKey

KEY_PREFIX = "live_"


def _hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def _lock_owner(user_id: int) -> None:
    """Serialise one creator's key and live changes (two rotations at once would otherwise
    race for the one-active-key constraint)."""
    User.objects.select_for_update().only("pk").get(pk=user_id)


def _revoke_locked(user_id: int, *, by: User | None) -> StreamKey | None:
    key = StreamKey.objects.filter(user_id=user_id, revoked_at__isnull=True).first()
    if key is None:
        return None
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    from apps.live.services.lifecycle import live_end

    on_air = (LiveStream.objects.filter(host_id=user_id, key_id=key.pk,
                                        state__in=(LiveStream.State.LIVE,
                                                   LiveStream.State.RECONNECTING)).first())
    if on_air is not None:
        live_end(on_air, reason=LiveStream.EndReason.KEY_REVOKED, by=by)
    return key


def key_create(user: User) -> tuple[StreamKey, str]:
    """Make the creator's stream key, revoking the one they had (rotation). Answers the row
    and the plain key, which is never stored nor shown again. Refused (in words) to whoever
    may not go live."""
    require(go_live_refusal(user))
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        _lock_owner(user.pk)
        _revoke_locked(user.pk, by=None)
        key = StreamKey.objects.create(user_id=user.pk, key_hash=_hash(plain),
                                       prefix=plain[:len(KEY_PREFIX) + 4])
    return key, plain


def key_revoke(user: User, *, by: User | None = None) -> StreamKey | None:
    """Revoke the creator's active key (None when they had none); a live it was publishing
    ends (`KEY_REVOKED`). `by`: staff acting on someone else's key (the caller records
    the audit row: the admin's action, moderation's enforcement)."""
    with transaction.atomic():
        _lock_owner(user.pk)
        return _revoke_locked(user.pk, by=by)


def key_lookup(plain: str) -> StreamKey | None:
    """The key row for a plain key, revoked or not (the ingest tells the two apart); None
    for a key that never existed."""
    if not plain.startswith(KEY_PREFIX) or len(plain) > 100:
        return None
    return StreamKey.objects.filter(key_hash=_hash(plain)).select_related("user").first()
