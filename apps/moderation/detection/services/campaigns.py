"""Copy-paste campaigns: the same or nearly the same text posted by many accounts within a
short window is grouped into one review case.

Each public text scanned (a comment, a caption once its post settles, a bio) leaves a
`TextFingerprint` (MinHash signature and LSH bands, `detection.minhash`). A new text looks
up the window's fingerprints sharing a band (a GIN index on the bands), keeps those of
other accounts whose estimated Jaccard similarity reaches `campaign_similarity`, and once
`campaign_min_accounts` accounts (the new one included) posted it, a `Campaign` gathers
them: one case on its first member's target, each later member appended to that case's
evidence (`case_open_or_merge`). Nothing is removed automatically: a moderator decides.
Fingerprints older than a day are pruned by the checks sweep."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.moderation.detection import cases, minhash
from apps.moderation.detection.models import Campaign, TextFingerprint
from apps.moderation.detection.services.config import detection_settings
from apps.moderation.policies import Policy

CANDIDATES = 500  # fingerprints compared per new text, newest first
KEEP = timedelta(days=1)
# Texts moderation never stores itself (a direct message, a live chat line: their apps own
# them): the fingerprint stands for the text by a token, and a campaign whose first member
# is one of them opens its case on that member's account. A direct message's text is kept
# only once the detector flags it (it joined or started a campaign): until then its
# fingerprint holds no text at all (`services.chat_campaigns`).
UNSTORED_TARGET_TYPES = frozenset({"dm_text", "chat_text"})
PRIVATE_SURFACES = frozenset({"message"})


def text_fingerprint_record(
    *, author_id: int, surface: str, target_type: str, target_id: int, content: str
) -> Campaign | None:
    """Fingerprint one text and group it with its near duplicates; the campaign it joined
    or started (None: too short, or not (yet) a campaign). Idempotent per target."""
    sig = minhash.signature(content)
    if sig is None:
        return None
    if TextFingerprint.objects.filter(
        target_type=target_type, target_id=target_id, surface=surface
    ).exists():
        return None  # a retried task or a re-scan
    conf = detection_settings()
    since = timezone.now() - timedelta(minutes=conf.campaign_window_minutes)
    bands = minhash.bands(sig)
    rows = list(
        TextFingerprint.objects.filter(created_at__gte=since, bands__overlap=bands)
        .exclude(author_id=author_id)
        .order_by("-id")
        .values("id", "author_id", "signature", "campaign_id", "target_type", "target_id")[
            :CANDIDATES
        ]
    )
    similar = [
        r for r in rows if minhash.similarity(sig, r["signature"]) >= conf.campaign_similarity
    ]
    with transaction.atomic():
        mine = TextFingerprint.objects.create(
            author_id=author_id,
            surface=surface,
            target_type=target_type,
            target_id=target_id,
            bands=bands,
            signature=sig,
            text="" if surface in PRIVATE_SURFACES else content[:500],
        )
        accounts = {author_id} | {r["author_id"] for r in similar}
        if len(accounts) < max(2, conf.campaign_min_accounts):
            return None
        if surface in PRIVATE_SURFACES:  # flagged now: its text becomes evidence
            TextFingerprint.objects.filter(pk=mine.pk).update(text=content[:500])
            mine.text = content[:500]
        campaign_id = next((r["campaign_id"] for r in similar if r["campaign_id"]), None)
        campaign = Campaign.objects.filter(pk=campaign_id).first() if campaign_id else None
        if campaign is None:
            first = min(similar, key=lambda r: r["id"])
            target = (
                ("user", first["author_id"])
                if first["target_type"] in UNSTORED_TARGET_TYPES
                else (first["target_type"], first["target_id"])
            )
            campaign = Campaign.objects.create(
                # a direct message's text is not kept: the flagged member's stands for it
                text=TextFingerprint.objects.get(pk=first["id"]).text or mine.text,
                case_target_type=target[0],
                case_target_id=target[1],
            )
        members = [mine.pk] + [r["id"] for r in similar if r["campaign_id"] != campaign.pk]
        TextFingerprint.objects.filter(pk__in=members).update(campaign=campaign)
        count = (
            TextFingerprint.objects.filter(campaign=campaign).values("author_id").distinct().count()
        )
        Campaign.objects.filter(pk=campaign.pk).update(accounts=count, updated_at=timezone.now())
        campaign.accounts = count
        cases.open_case(
            target_type=campaign.case_target_type,
            target_id=campaign.case_target_id,
            policy=Policy.SPAM_SCAM,
            evidence=_evidence(campaign, mine, surface),
            reason=f"Copy-paste campaign: {count} accounts posted nearly the same text "
            f"within {conf.campaign_window_minutes} minutes.",
        )
    return campaign


def _evidence(campaign: Campaign, member: TextFingerprint, surface: str) -> dict[str, Any]:
    return {
        "source": "detection",
        "outcome": "review",
        "decisions": [
            {
                "policy": Policy.SPAM_SCAM,
                "source": "campaign",
                "outcome": "review",
                "why": f"{campaign.accounts} accounts, nearly the same text",
            }
        ],
        "campaign_id": str(campaign.pk),
        "campaign_accounts": campaign.accounts,
        "member": {
            "author_id": str(member.author_id),
            "surface": surface,
            # a direct message or chat line: its token, not a message id (never stored here)
            "target_type": member.target_type,
            "target_id": str(member.target_id),
            "text": member.text,
        },
    }


def fingerprints_prune() -> int:
    """Drop fingerprints past any campaign window (a day)."""
    deleted, _ = TextFingerprint.objects.filter(created_at__lt=timezone.now() - KEEP).delete()
    return deleted


def campaign_members(campaign_id: int) -> list[dict[str, Any]]:
    """The campaign's texts for the review page: author, where, when."""
    rows = (
        TextFingerprint.objects.filter(campaign_id=campaign_id)
        .order_by("id")
        .values(
            "author_id",
            "author__username",
            "surface",
            "target_type",
            "target_id",
            "text",
            "created_at",
        )[:200]
    )
    return [dict(row) for row in rows]
