"""The person's choices: the type x channel matrix, quiet hours in their own time zone, and
per-creator post notifications."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from zoneinfo import available_timezones

from django.db import transaction

from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.notifications import types
from apps.notifications.digest.frequency import digest_frequency_set
from apps.notifications.models import CreatorPostSubscription, Inbox, Preference
from apps.social import selectors as social_selectors


def _invalid(message: str, fields: dict[str, list[str]]) -> ApplicationError:
    return ApplicationError(message, code="invalid", fields=fields)


def _check_matrix(channels: Mapping[str, Mapping[str, bool]]) -> list[Preference]:
    errors: dict[str, list[str]] = {}
    rows: list[Preference] = []
    known = {kind.name: kind for kind in types.all_types()}
    for name, choices in channels.items():
        kind = known.get(name)
        if kind is None:
            errors[f"channels.{name}"] = ["No such notification type."]
            continue
        for channel, enabled in choices.items():
            if channel not in types.Channel.__members__.values():
                errors[f"channels.{name}.{channel}"] = [
                    "No such channel (in_app, push or email)."]
            elif kind.mandatory and not enabled:
                errors[f"channels.{name}.{channel}"] = [
                    f"{kind.label} cannot be turned off: they keep your account safe."]
            else:
                rows.append(Preference(type=name, channel=channel, enabled=enabled))
    if errors:
        raise _invalid("Some notification settings are not valid.", errors)
    return rows


def _check_zone(zone: str) -> str:
    if zone and zone not in available_timezones():
        raise _invalid("Unknown time zone.", {"quiet_hours.time_zone": [
            "Use an IANA time zone name, e.g. Europe/Paris."]})
    return zone


def preferences_update(*, user: User, channels: Mapping[str, Mapping[str, bool]] | None = None,
                       quiet_hours: Mapping[str, object] | None = None,
                       digest: str | None = None) -> None:
    """Change some choices (the rest stay). `quiet_hours`: `enabled`, `start`, `end`
    (times), `time_zone` (IANA). `digest`: the e-mail digest, off/daily/weekly. A choice
    equal to the default is stored too (the default may change; the person's choice
    does not)."""
    rows = _check_matrix(channels or {})
    quiet: dict[str, object] = {}
    if quiet_hours is not None:
        if "time_zone" in quiet_hours:
            quiet["time_zone"] = _check_zone(str(quiet_hours["time_zone"] or ""))
        if quiet_hours.get("enabled") is False:
            quiet.update(quiet_start=None, quiet_end=None)
        elif "start" in quiet_hours or "end" in quiet_hours:
            start, end = quiet_hours.get("start"), quiet_hours.get("end")
            if not isinstance(start, time) or not isinstance(end, time):
                raise _invalid("Quiet hours need a start and an end.", {
                    "quiet_hours": ["Give both start and end (HH:MM)."]})
            if start == end:
                raise _invalid("Quiet hours cannot start and end at the same time.", {
                    "quiet_hours.end": ["Choose an end different from the start."]})
            quiet.update(quiet_start=start, quiet_end=end)
    with transaction.atomic():
        if digest is not None:
            digest_frequency_set(user_id=user.pk, frequency=digest)
        for row in rows:
            Preference.objects.update_or_create(user_id=user.pk, type=row.type,
                                                channel=row.channel,
                                                defaults={"enabled": row.enabled})
        if quiet:
            inbox, _ = Inbox.objects.get_or_create(user_id=user.pk)
            for name, value in quiet.items():
                setattr(inbox, name, value)
            inbox.save(update_fields=[*quiet, "updated_at"])


def creator_subscription_set(*, user: User, creator: User, level: str) -> CreatorPostSubscription:
    """Hear of `creator`'s new posts: "all", "personalised" or "off". Only about someone
    the person follows (the bell is on a followed profile)."""
    if level not in CreatorPostSubscription.Level.values:
        raise _invalid("Choose all, personalised or off.", {
            "level": ["Choose all, personalised or off."]})
    if creator.pk == user.pk:
        raise ApplicationError("You cannot subscribe to your own posts.",
                               code="cannot_subscribe_self")
    if level != CreatorPostSubscription.Level.OFF and not social_selectors.is_following(
            user.pk, creator.pk):
        raise ApplicationError(f"Follow @{creator.username} first to hear about their new "
                               "videos.", code="not_following", status_code=409)
    with transaction.atomic():
        row, _ = CreatorPostSubscription.objects.update_or_create(
            user_id=user.pk, creator_id=creator.pk, defaults={"level": level})
    return row
