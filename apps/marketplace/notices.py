"""Telling both sides of a deal what happened on it, through apps.notifications: each line
written on the deal's thread (a step's words, a person's message, staff's decision) reaches
the creator and the brand's admins and editors in their inbox (and push), except the person
who wrote or did it. The words are the thread's own; the link opens the deal where that
person reads it (the creator's studio, the brand's portal)."""

from __future__ import annotations

from django.db import transaction

from apps.ads.models import Membership
from apps.marketplace.models import Deal, DealMessage
from apps.notifications import services as notifications
from apps.notifications import types
from apps.notifications.services import Candidate

DEAL_TYPE = "marketplace_deal"


DEAL_UPDATE = types.NotificationType(
    DEAL_TYPE,
    "Brand deals: invitations, drafts, payments and messages",
    words=types.stored_words("Brand deal"),
    defaults={types.Channel.IN_APP: True, types.Channel.PUSH: True, types.Channel.EMAIL: False},
)


def register_types() -> None:
    types.register(DEAL_UPDATE)


def told_after_commit(message_id: int, *, actor_id: int | None) -> None:
    """Tell the deal's people of this thread line once the step's transaction commits."""
    # robust: the step has committed; a notification that fails (Redis away) is logged, and
    # the person's answer is not turned into an error
    transaction.on_commit(lambda: tell(message_id, actor_id=actor_id), robust=True)


def tell(message_id: int, *, actor_id: int | None) -> int:
    """Safe to run twice: one event key per line and person."""
    message = (
        DealMessage.objects.select_related("deal__org", "deal__creator")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        return 0
    deal: Deal = message.deal
    brand = set(
        Membership.objects.filter(
            org_id=deal.org_id,
            role__in=(Membership.Role.ADMIN, Membership.Role.EDITOR),
        ).values_list("user_id", flat=True)
    )
    name = {
        "staff": "Our team",
        "brand": deal.org.name,
        "creator": f"@{deal.creator.username}",
    }.get(message.side)
    title = f"{name} on “{deal.title}”" if name else f"Brand deal “{deal.title}”"
    candidates = []
    for uid in {deal.creator_id, *brand} - {actor_id}:
        path = (
            f"/studio/marketplace/deals/{deal.pk}"
            if uid == deal.creator_id
            else f"/ads/o/{deal.org_id}/deals/{deal.pk}"
        )
        candidates.append(
            Candidate(
                int(uid),
                DEAL_TYPE,
                f"{DEAL_TYPE}:{message.pk}:{uid}",
                actor_id=message.author_id,
                target_type="deal",
                target_id=deal.pk,
                data={"title": title[:200], "body": message.body[:500], "path": path},
            )
        )
    return len(notifications.notify(candidates))
