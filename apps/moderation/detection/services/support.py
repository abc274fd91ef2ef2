"""Support resources for a person whose text read as self-harm: a cry for help is never
punished (the heads' self-harm thresholds hold public posts for a person to look at, and
never refuse a message), and the author is shown helplines, in words, where they look:

- in the inbox, through moderation's `support_offered` hook (notifications tells it, at
  most once a day, in the inbox only: not pushed to a lock screen, not e-mailed);
- in the composer's answer where the text is checked while the person waits (a direct
  message: messaging's send answers `support`).

The list is staff's (`SupportResource`, edited in the admin, audited); the person's
language picks its rows first, then the rows for every language."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Case, IntegerField, Q, Value, When

from apps.moderation.detection import heads
from apps.moderation.detection.models import SupportResource
from apps.moderation.detection.services.config import detection_settings
from apps.moderation.notice_hooks import run_support_offered_hooks

TITLE = "You're not alone"
BODY = (
    "It sounds like you might be going through something really hard. You don't have to "
    "face it alone: these people listen, for free and in confidence, any time."
)
MAX_RESOURCES = 5
FLOOR = 0.3  # the lowest self-harm score that may offer support, whatever the setting


@dataclass(frozen=True)
class SupportOffer:
    title: str
    body: str
    resources: list[dict[str, str]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"title": self.title, "body": self.body, "resources": self.resources}


def resources_for(language: str) -> list[dict[str, str]]:
    """The active resources for a language: its own rows first, then those for all."""
    lang = (language or "").split("-")[0].lower()
    rows = (
        SupportResource.objects.filter(Q(language="") | Q(language=lang), is_active=True)
        .annotate(
            own=Case(
                When(language="", then=Value(1)), default=Value(0), output_field=IntegerField()
            )
        )
        .order_by("own", "order", "name")[:MAX_RESOURCES]
    )
    return [
        {"name": r.name, "description": r.description, "url": r.url, "phone": r.phone} for r in rows
    ]


def needs_support(head_scores: dict[str, Any] | None) -> bool:
    """From the staff's `support_at` (never below FLOOR: most texts score near 0, and so
    they cost no settings read)."""
    score = (head_scores or {}).get("self_harm")
    if not isinstance(score, float) or score < FLOOR:
        return False
    return score >= max(FLOOR, detection_settings().support_at)


def support_offer_for(*, content: str, language: str) -> SupportOffer | None:
    """The offer for a text (None if it does not read as self-harm). Cheap after a check
    of the same text: the embedding is cached."""
    if not needs_support(heads.text_scores(content)):
        return None
    return SupportOffer(TITLE, BODY, resources_for(language))


def support_offer_send(
    *, user_id: int, language: str, head_scores: dict[str, Any] | None
) -> SupportOffer | None:
    """Tell the author about support resources when their text's self-harm score calls for
    it: after commit (a rolled-back text tells nobody); notifications keeps it to one a
    day. Returns the offer (for a composer's answer) or None."""
    if not needs_support(head_scores):
        return None
    offer = SupportOffer(TITLE, BODY, resources_for(language))
    transaction.on_commit(
        lambda: run_support_offered_hooks(
            user_id=user_id, title=offer.title, body=offer.body, resources=offer.resources
        )
    )
    return offer
