"""Deals: the rules every step shares (validation of fees, texts and deliverables, who may act, the
deal's row lock, state checks, the system message in the thread, the escrow account)."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import timezone

from apps.accounts.models import User
from apps.ads.models import AdvertiserOrg
from apps.ads.services.orgs import Action, require
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.marketplace.conf import conf
from apps.marketplace.models import Deal, DealMessage
from apps.payments.models import LedgerAccount
from apps.payments.services.ledger import (
    account_for,
)

S = Deal.State
OPEN_BEFORE_DRAFT = (S.INVITED, S.COUNTERED, S.ACCEPTED)
AFTER_DRAFT = (S.DRAFT_SUBMITTED, S.CHANGES_REQUESTED, S.APPROVED)
CURRENCY = "USD"  # creators' earnings are USD: a deal is paid in USD from a USD balance
RESTRICTED_CATEGORIES = ("alcohol", "gambling", "dating", "financial", "weight_loss")


# --- validation ------------------------------------------------------------------------------


def clean_fee(value: Any, field: str = "fee_minor") -> int:
    low = int(conf("SWIPEME_MARKETPLACE_MIN_FEE_MINOR"))
    high = int(conf("SWIPEME_MARKETPLACE_MAX_FEE_MINOR"))
    if type(value) is not int or not low <= value <= high:
        raise ApplicationError(
            f"The fee is a whole number of cents from {low:,} to {high:,} "
            f"(${low / 100:,.2f} to ${high / 100:,.2f}).",
            code="invalid_fee",
            fields={field: [f"A whole number of cents from {low:,} to {high:,}."]},
        )
    return value


def _text(value: Any, field: str, limit: int, *, required: bool = True) -> str:
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise ApplicationError(
            f"{field.capitalize()}: up to {limit:,} characters, required.",
            code="invalid",
            fields={field: [f"1 to {limit:,} characters."]},
        )
    return value.strip()


def clean_deliverables(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApplicationError(
            "Deliverables: posts, due date, hashtags, may run as an ad.",
            code="invalid",
            fields={"deliverables": ["An object."]},
        )
    posts = value.get("posts", 1)
    if type(posts) is not int or not 1 <= posts <= 10:
        raise ApplicationError(
            "Deliverables: 1 to 10 posts.",
            code="invalid",
            fields={"deliverables.posts": ["1 to 10."]},
        )
    hashtags = value.get("hashtags", [])
    if (
        not isinstance(hashtags, list)
        or len(hashtags) > 10
        or not all(
            isinstance(h, str)
            and 0 < len(h.lstrip("#")) <= 50
            and h.lstrip("#").replace("_", "").isalnum()
            for h in hashtags
        )
    ):
        raise ApplicationError(
            "Deliverables: up to 10 hashtags of letters and digits.",
            code="invalid",
            fields={"deliverables.hashtags": ["Invalid."]},
        )
    due = value.get("due_date")
    if due is not None:
        try:
            due_day = date.fromisoformat(str(due))
        except ValueError:
            raise ApplicationError(
                "Deliverables: the due date is YYYY-MM-DD.",
                code="invalid",
                fields={"deliverables.due_date": ["YYYY-MM-DD"]},
            ) from None
        if due_day < timezone.localdate():
            raise ApplicationError(
                "Deliverables: the due date is in the past.",
                code="invalid",
                fields={"deliverables.due_date": ["In the past."]},
            )
        due = due_day.isoformat()
    run_as_ad = value.get("may_run_as_ad", False)
    if not isinstance(run_as_ad, bool):
        raise ApplicationError(
            "Deliverables: may_run_as_ad is true or false.",
            code="invalid",
            fields={"deliverables.may_run_as_ad": ["true or false"]},
        )
    category = value.get("restricted_category", "") or ""
    if category not in ("", *RESTRICTED_CATEGORIES):
        raise ApplicationError(
            "Deliverables: the restricted category is one of "
            + ", ".join(RESTRICTED_CATEGORIES)
            + ".",
            code="invalid",
            fields={"deliverables.restricted_category": ["Unknown."]},
        )
    return {
        "posts": posts,
        "due_date": due,
        "hashtags": [h.lstrip("#").lower() for h in hashtags],
        "may_run_as_ad": run_as_ad,
        "restricted_category": category,
    }


def _org_refusal(org: AdvertiserOrg) -> str | None:
    if org.status != AdvertiserOrg.Status.ACTIVE:
        return "This advertiser account is suspended, so it can't make brand deals."
    if org.currency != CURRENCY:
        return "Brand deals are paid in US dollars: use an advertiser account in USD."
    return None


# --- reads shared by the steps -----------------------------------------------------------------


def _locked(deal_id: int) -> Deal:
    """The deal under its row lock (the caller holds a transaction)."""
    deal = (
        Deal.objects.select_for_update(of=("self",))
        .select_related("org", "creator")
        .filter(pk=deal_id)
        .first()
    )
    if deal is None:
        raise NotFoundError("No such deal.", code="deal_not_found")
    return deal


def _as_creator(user: User, deal: Deal) -> None:
    if deal.creator_id != user.pk:
        # the brand's members see the deal, but only its creator acts as the creator
        if _member_role(user, deal.org_id) is None:
            raise NotFoundError("No such deal.", code="deal_not_found")
        raise ForbiddenError("Only the creator can do this.", code="not_the_creator")


def _as_brand(user: User, deal: Deal, action: Action = Action.EDIT_CAMPAIGNS) -> None:
    if _member_role(user, deal.org_id) is None:
        if deal.creator_id == user.pk:
            raise ForbiddenError("Only the brand can do this.", code="not_the_brand")
        raise NotFoundError("No such deal.", code="deal_not_found")
    require(user, deal.org_id, action)  # 403 in words for a role without it


def _member_role(user: User, org_id: int) -> str | None:
    from apps.ads.services.orgs import role_of

    return role_of(user, org_id)


def _expect(deal: Deal, *states: str, doing: str) -> None:
    if deal.state not in states:
        raise ConflictError(
            f"This deal is {deal.get_state_display().lower()}: you can't {doing} now.",
            code="wrong_state",
        )


def _note(
    deal: Deal, body: str, *, side: str = "system", author: User | None = None, actor: Any = None
) -> DealMessage:
    """A line on the deal's thread, told to its people but `actor` (who did the step)."""
    from apps.marketplace import notices

    message = DealMessage.objects.create(deal=deal, author=author, side=side, body=body[:2000])
    notices.told_after_commit(message.pk, actor_id=getattr(actor or author, "pk", None))
    return message


def _escrow(deal: Deal) -> LedgerAccount:
    return account_for(LedgerAccount.Kind.MARKETPLACE_ESCROW, owner_id=deal.pk, asset=CURRENCY)


def _money(minor: int) -> str:
    return f"${minor / 100:,.2f}"


# --- the brand ----------------------------------------------------------------------------------


def _category_of(deal: Deal) -> str:
    category = str(deal.deliverables.get("restricted_category") or "")
    return category if category in RESTRICTED_CATEGORIES else ""


# --- either side ------------------------------------------------------------------------------


def _side(user: User, deal: Deal) -> str:
    if deal.creator_id == user.pk:
        return "creator"
    _as_brand(user, deal)
    return "brand"
