"""Writing the person's digest frequency (the digest's own table; the preferences use case
and the unsubscribe link both come here)."""

from __future__ import annotations

from django.db import transaction

from apps.core.errors import ApplicationError
from apps.notifications.digest.models import DigestSetting


def digest_frequency_set(*, user_id: int, frequency: str) -> None:
    """How often the e-mail digest comes: off, daily or weekly."""
    if frequency not in DigestSetting.Frequency.values:
        raise ApplicationError("Choose off, daily or weekly.", code="invalid",
                               fields={"digest": ["Choose off, daily or weekly."]})
    with transaction.atomic():
        DigestSetting.objects.update_or_create(user_id=user_id,
                                               defaults={"frequency": frequency})
