"""Moderation's notices move onto notifications whole (one read state, the inbox's):

1. the one "moderation" type becomes the type of the notice's kind (moderation_removal,
   moderation_limit, moderation_account, appeal_decided);
2. a notice read on the old /notices page or `POST /me/notices/read` (moderation's
   `Notice.read_at`, dropped by moderation's next migration) marks its inbox row read;
3. a notice told before the inbox existed gets its inbox row, read or unread as the
   notice was (its event key, "notice:<id>", is recorded so the hook does not tell it
   twice).

The type of a kind is frozen here (services.events.notice_type is the live rule)."""

from __future__ import annotations

from typing import Any

from django.db import migrations

ACCOUNT_KINDS = {"strike", "suspend", "ban", "feature_limit"}
APPEAL_KINDS = {"appeal_granted", "appeal_rejected"}


def _type_of(kind: str, target_type: str) -> str:
    if kind in APPEAL_KINDS:
        return "appeal_decided"
    if kind in ACCOUNT_KINDS or target_type == "user":
        return "moderation_account"
    return "moderation_removal" if kind == "remove" else "moderation_limit"


def forward(apps: Any, schema_editor: Any) -> None:
    from django.urls import reverse

    from apps.moderation.services import appeal_token_for

    notice_model = apps.get_model("moderation", "Notice")
    notification_model = apps.get_model("notifications", "Notification")
    event_model = apps.get_model("notifications", "NotificationEvent")
    inbox_model = apps.get_model("notifications", "Inbox")
    target_of = dict(notice_model.objects.filter(action__isnull=False)
                     .values_list("id", "action__target_type"))
    for row in notification_model.objects.filter(type="moderation").iterator():
        row.type = _type_of(str(row.data.get("kind", "")),
                            target_of.get(row.target_id or 0, ""))
        row.save(update_fields=["type"])
    for notice in notice_model.objects.filter(read_at__isnull=False).iterator():
        notification_model.objects.filter(
            recipient_id=notice.user_id, target_type="notice", target_id=notice.pk,
            read_at__isnull=True).update(read_at=notice.read_at)
    told = {int(key.split(":", 1)[1]) for key in event_model.objects.filter(
        key__startswith="notice:").values_list("key", flat=True)}
    for notice in (notice_model.objects.exclude(pk__in=told).select_related("action")
                   .order_by("id").iterator()):
        inbox, _ = inbox_model.objects.select_for_update().get_or_create(user_id=notice.user_id)
        inbox.last_seq += 1
        inbox.save(update_fields=["last_seq"])
        appeal_path = ""
        if notice.appealable_until is not None and notice.action is not None:
            appeal_path = reverse("moderation:appeal-by-link",
                                  args=[appeal_token_for(notice.action)])
        row = notification_model.objects.create(
            recipient_id=notice.user_id, type=_type_of(notice.kind, getattr(
                notice.action, "target_type", "")),
            target_type="notice", target_id=notice.pk, seq=inbox.last_seq,
            read_at=notice.read_at, data={
                "kind": notice.kind, "title": notice.title, "body": notice.body,
                "policy": notice.policy, "guideline_url": notice.guideline_url,
                "appeal_path": appeal_path,
                "appealable_until": (notice.appealable_until.isoformat()
                                     if notice.appealable_until else "")})
        # the row keeps the notice's date (auto_now fields are set on insert)
        notification_model.objects.filter(pk=row.pk).update(
            created_at=notice.created_at, updated_at=notice.created_at)
        event_model.objects.create(key=f"notice:{notice.pk}", notification_id=row.pk)


def backward(apps: Any, schema_editor: Any) -> None:
    notification_model = apps.get_model("notifications", "Notification")
    notification_model.objects.filter(
        type__in=["moderation_removal", "moderation_limit", "moderation_account",
                  "appeal_decided"]).update(
        type="moderation")


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_fanout_checkpoint"),
        ("moderation", "0003_search_ban"),
    ]

    operations = [migrations.RunPython(forward, backward)]
