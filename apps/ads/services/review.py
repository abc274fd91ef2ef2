"""Ad review: automated checks at submit, then the ad-ops queue (the Django admin).

Submit (`ad_submit`, editors and admins) runs, in order, and records each in
`Ad.review_checks`:
1. the ad rules: prohibited categories (words of `SWIPEME_ADS_PROHIBITED_TERMS` in the ad's
   name, display name or landing URL), the landing-domain blocklist (`BlockedDomain`,
   subdomains included, for the landing URL and where it ends), restricted categories
   only with adult targeting;
2. the landing page fetched (`landing.check_landing`): reachable, no undeclared redirect
   to another site;
3. the moderation detectors through moderation's public functions: the creative's
   pre-publish scan (`detection.selectors.asset_check_for`: block → rejected; review or
   age-restrict → flagged for ad-ops; not finished → ad-ops sees it pending) and the
   display name's text verdict (`detection.services.text_scans.text_verdict`).
A failed rule rejects at once with the reasons in words; otherwise the ad is `pending` in
the ad-ops queue, where staff approve or reject with reasons (each decision one audit row,
`ads.ad_approve` / `ads.ad_reject`). Every outcome is told to the org's admins and
editors (notification type `ad_review`) and shown in the portal (`review_reasons`)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from django.db import transaction
from django.utils import timezone

from apps.ads.conf import conf
from apps.ads.models import Ad, BlockedDomain, Membership
from apps.ads.services.landing import check_landing
from apps.ads.services.orgs import Action, require
from apps.core.audit import Actor, record_audit
from apps.core.errors import ApplicationError, ConflictError

AD_REVIEW_TYPE = "ad_review"
_SUBMITTABLE = (Ad.Review.DRAFT, Ad.Review.REJECTED)


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9]+", " ", text.lower()) + " "


def prohibited_category(*texts: str) -> str:
    """The prohibited category whose words appear in the texts ("" if none)."""
    haystack = _words(" ".join(unquote(t) for t in texts))
    for category, terms in conf("SWIPEME_ADS_PROHIBITED_TERMS").items():
        for term in terms:
            if _words(term) in haystack:
                return str(category)
    return ""


def blocked_domain(*urls: str) -> BlockedDomain | None:
    hosts = {(urlsplit(u).hostname or "").lower().rstrip(".") for u in urls if u}
    candidates: set[str] = set()
    for host in hosts:
        labels = host.split(".")
        candidates.update(".".join(labels[i:]) for i in range(len(labels) - 1))
    if not candidates:
        return None
    return BlockedDomain.objects.filter(domain__in=candidates).order_by("domain").first()


def automated_checks(ad: Ad) -> tuple[list[str], list[str], list[dict[str, Any]]]:
    """(rejection reasons, notes for ad-ops, the checks as recorded)."""
    from apps.moderation.detection.models import Outcome
    from apps.moderation.detection.selectors import asset_check_for
    from apps.moderation.detection.services.text_scans import text_verdict

    reasons: list[str] = []
    notes: list[str] = []
    checks: list[dict[str, Any]] = []
    category = prohibited_category(ad.name, ad.display_name, ad.landing_url)
    checks.append({"check": "prohibited_category", "result": category or "none"})
    if category:
        reasons.append(f"Ads for {category} are not allowed on SwipeMe.")
    group = ad.ad_group
    if ad.restricted_category and (not group.age_bands or "13-17" in group.age_bands):
        reasons.append("Ads in a restricted category may only target ages 18 and over.")
    landing = None
    if conf("SWIPEME_ADS_LANDING_CHECK"):
        landing = check_landing(ad.landing_url, redirect_disclosed=ad.redirect_disclosed)
        checks.append(
            {
                "check": "landing_page",
                "ok": landing.ok,
                "chain": landing.chain,
                "final_url": landing.final_url,
                "reason": landing.reason,
            }
        )
        if not landing.ok:
            reasons.append(landing.reason)
        ad.landing_final_url = landing.final_url[:2000]
        if landing.other_domain:
            notes.append(f"Declared redirect to {landing.other_domain}.")
    blocked = blocked_domain(ad.landing_url, ad.landing_final_url)
    checks.append({"check": "domain_blocklist", "result": blocked.domain if blocked else "none"})
    if blocked is not None:
        reasons.append(f"Links to {blocked.domain} are not allowed: {blocked.reason}")
    scan = asset_check_for(ad.asset_id)
    checks.append(
        {
            "check": "creative_scan",
            "state": scan.state if scan else "not_started",
            "outcome": scan.outcome if scan else "",
            "policy": scan.policy if scan else "",
        }
    )
    if scan is None or scan.state != "done":
        notes.append("The video's automated scan has not finished: check it by eye.")
    elif scan.outcome == Outcome.BLOCK:
        reasons.append(
            "The video breaks the community guidelines "
            f"({scan.policy.replace('_', ' ') or 'policy'})."
        )
    elif scan.outcome in (Outcome.REVIEW, Outcome.AGE_RESTRICT):
        notes.append(f"The video scan asks for a look: {scan.outcome} ({scan.policy or 'policy'}).")
    verdict = text_verdict(
        content=f"{ad.display_name}\n{ad.name}", author=None, language="", field="ad_text"
    )
    checks.append({"check": "text", "outcome": verdict.outcome, "policy": verdict.policy})
    if verdict.outcome == Outcome.BLOCK:
        reasons.append("The ad's text breaks the community guidelines.")
    elif verdict.outcome != Outcome.ALLOW:
        notes.append(f"The ad's text scan says {verdict.outcome} ({verdict.policy}).")
    return reasons, notes, checks


def ad_submit(*, user: object, ad: Ad) -> Ad:
    """Submit a draft (or a rejected ad, changed) for review."""
    org_id = ad.ad_group.campaign.org_id
    require(user, org_id, Action.EDIT_CAMPAIGNS)
    if ad.review_state not in _SUBMITTABLE:
        raise ConflictError("This ad is already in review or approved.", code="already_submitted")
    reasons, notes, checks = automated_checks(ad)
    now = timezone.now()
    with transaction.atomic():
        updated = Ad.objects.filter(pk=ad.pk, review_state__in=_SUBMITTABLE).update(
            review_state=Ad.Review.REJECTED if reasons else Ad.Review.PENDING,
            review_reasons=reasons,
            review_notes="\n".join(notes),
            review_checks=checks,
            landing_final_url=ad.landing_final_url,
            submitted_at=now,
            reviewed_at=now if reasons else None,
            reviewed_by=None,
            updated_at=now,
        )
        if not updated:
            raise ConflictError(
                "This ad is already in review or approved.", code="already_submitted"
            )
        ad.refresh_from_db()
        if reasons:
            record_audit(
                actor=None, action="ads.ad_auto_reject", target=ad, reason="; ".join(reasons)[:500]
            )
            _notify(ad)
    return ad


def _decide(
    *, actor: Actor, ad_id: int, approve: bool, reasons: list[str], note: str, ip: str | None
) -> Ad:
    reasons = [" ".join(r.split())[:300] for r in reasons if r and r.strip()]
    if not approve and not reasons:
        raise ApplicationError(
            "Give the advertiser the reasons for the rejection.", code="reason_required"
        )
    with transaction.atomic():
        ad = Ad.objects.select_for_update().filter(pk=ad_id).first()
        if ad is None:
            raise ApplicationError("No such ad.", code="not_found")
        if ad.review_state == Ad.Review.DRAFT:
            raise ConflictError(
                "This ad was changed and is not submitted any more.", code="not_submitted"
            )
        ad.review_state = Ad.Review.APPROVED if approve else Ad.Review.REJECTED
        ad.review_reasons = reasons
        if note:
            ad.review_notes = (ad.review_notes + "\n" + note).strip()
        ad.reviewed_at = timezone.now()
        ad.reviewed_by_id = getattr(actor, "pk", None)
        ad.save(
            update_fields=[
                "review_state",
                "review_reasons",
                "review_notes",
                "reviewed_at",
                "reviewed_by",
                "updated_at",
            ]
        )
        record_audit(
            actor=actor,
            action="ads.ad_approve" if approve else "ads.ad_reject",
            target=ad,
            reason="; ".join(reasons) or note,
            ip=ip,
        )
        _notify(ad)
    return ad


def ad_approve(*, actor: Actor, ad_id: int, note: str = "", ip: str | None = None) -> Ad:
    return _decide(actor=actor, ad_id=ad_id, approve=True, reasons=[], note=note, ip=ip)


def ad_reject(
    *, actor: Actor, ad_id: int, reasons: list[str], note: str = "", ip: str | None = None
) -> Ad:
    return _decide(actor=actor, ad_id=ad_id, approve=False, reasons=reasons, note=note, ip=ip)


def outcome_words(ad: Ad) -> tuple[str, str]:
    """The review's outcome as the advertiser reads it: (title, body)."""
    if ad.review_state == Ad.Review.APPROVED:
        return f"Your ad “{ad.name}” was approved", "It can now be shown while its campaign runs."
    if ad.review_state == Ad.Review.REJECTED:
        return (
            f"Your ad “{ad.name}” was not approved",
            " ".join(ad.review_reasons) or "It does not meet the advertising policies.",
        )
    if ad.review_state == Ad.Review.PENDING:
        return f"Your ad “{ad.name}” is in review", "We will tell you when it is decided."
    return f"Your ad “{ad.name}” is not submitted", " ".join(ad.review_reasons)


def _notify(ad: Ad) -> None:
    """Tell the org's admins and editors, once per decision (its time is in the key)."""
    from apps.notifications import services as notifications
    from apps.notifications.services import Candidate

    title, body = outcome_words(ad)
    recipients = Membership.objects.filter(
        org_id=ad.ad_group.campaign.org_id, role__in=(Membership.Role.ADMIN, Membership.Role.EDITOR)
    ).values_list("user_id", flat=True)
    stamp = int(ad.reviewed_at.timestamp()) if ad.reviewed_at else 0
    notifications.notify(
        [
            Candidate(
                int(uid),
                AD_REVIEW_TYPE,
                f"{AD_REVIEW_TYPE}:{ad.pk}:{stamp}:{uid}",
                data={
                    "ad": str(ad.pk),
                    "state": ad.review_state,
                    "title": title,
                    "body": body[:500],
                },
            )
            for uid in recipients
        ]
    )
