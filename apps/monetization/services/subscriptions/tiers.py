"""A creator's monthly tiers: offered, changed, archived."""

from __future__ import annotations

from django.db import transaction

from apps.accounts.models import User
from apps.core.errors import ApplicationError, ConflictError, NotFoundError
from apps.monetization import eligibility
from apps.monetization.models.subscriptions import (
    TIER_MAX_MINOR,
    TIER_MIN_MINOR,
    TIER_NAME_MAX,
    TIER_PERKS_MAX,
    SubscriptionTier,
)
from apps.monetization.services.subscriptions._common import (
    MAX_ACTIVE_TIERS,
    TIER_CURRENCIES,
    TIER_NOT_FOUND,
    price_words,
)
from apps.payments.services import payments as payments_services


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ApplicationError("Give the tier a name.", code="invalid",
                               fields={"name": ["A name is needed."]})
    cleaned = " ".join(name.split())
    if len(cleaned) > TIER_NAME_MAX:
        raise ApplicationError(f"A tier's name is at most {TIER_NAME_MAX} characters.",
                               code="invalid", fields={"name": ["Too long."]})
    return cleaned


def _clean_perks(perks: object) -> str:
    if not isinstance(perks, str):
        raise ApplicationError("Perks are text.", code="invalid",
                               fields={"perks": ["Text, please."]})
    if len(perks.strip()) > TIER_PERKS_MAX:
        raise ApplicationError(f"Perks are at most {TIER_PERKS_MAX} characters.",
                               code="invalid", fields={"perks": ["Too long."]})
    return perks.strip()


def _clean_price(price_minor: object) -> int:
    low, high = price_words(TIER_MIN_MINOR, "USD"), price_words(TIER_MAX_MINOR, "USD")
    if type(price_minor) is not int or not TIER_MIN_MINOR <= price_minor <= TIER_MAX_MINOR:
        raise ApplicationError(
            f"A monthly price is a whole number of cents from {low} to {high}.",
            code="invalid_amount",
            fields={"price_minor": [f"Whole cents, {TIER_MIN_MINOR} to {TIER_MAX_MINOR}."]})
    return price_minor


def _clean_currency(currency: object) -> str:
    code = payments_services.check_currency(currency)  # unknown → 400 invalid_currency
    if code not in TIER_CURRENCIES:
        raise ApplicationError(
            "Tiers are priced in US dollars for now (earnings are paid out in USD).",
            code="invalid_currency", fields={"currency": ["USD."]})
    return code


def tier_create(*, creator: User, name: object, price_minor: object, currency: object = "USD",
                perks: object = "") -> SubscriptionTier:
    eligibility.require(eligibility.may_offer_subscriptions(creator))
    values = {"name": _clean_name(name), "price_minor": _clean_price(price_minor),
              "currency": _clean_currency(currency), "perks": _clean_perks(perks)}
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=creator.pk).first()  # counts one at a time
        if SubscriptionTier.objects.filter(creator_id=creator.pk, active=True).count() \
                >= MAX_ACTIVE_TIERS:
            raise ConflictError(f"You can offer at most {MAX_ACTIVE_TIERS} tiers at once; "
                                "archive one first.", code="too_many_tiers")
        return SubscriptionTier.objects.create(creator_id=creator.pk, **values)


def tier_update(*, creator: User, tier_id: int, **changes: object) -> SubscriptionTier:
    """Change a tier of one's own (another's is a 404). A new price is for new subscribers;
    current ones keep the price they agreed to. `active=False` archives it."""
    with transaction.atomic():
        tier = (SubscriptionTier.objects.select_for_update()
                .filter(pk=tier_id, creator_id=creator.pk).first())
        if tier is None:
            raise NotFoundError(TIER_NOT_FOUND)
        unknown = set(changes) - {"name", "price_minor", "currency", "perks", "active"}
        if unknown:
            raise ApplicationError("Unknown fields.", code="invalid",
                                   fields={name: ["Not a tier field."] for name in unknown})
        if "name" in changes:
            tier.name = _clean_name(changes["name"])
        if "price_minor" in changes:
            tier.price_minor = _clean_price(changes["price_minor"])
        if "currency" in changes:
            tier.currency = _clean_currency(changes["currency"])
        if "perks" in changes:
            tier.perks = _clean_perks(changes["perks"])
        if "active" in changes:
            active = changes["active"]
            if not isinstance(active, bool):
                raise ApplicationError("`active` is true or false.", code="invalid",
                                       fields={"active": ["true or false."]})
            if active and not tier.active:
                eligibility.require(eligibility.may_offer_subscriptions(creator))
                if SubscriptionTier.objects.filter(creator_id=creator.pk, active=True).count() \
                        >= MAX_ACTIVE_TIERS:
                    raise ConflictError(f"You can offer at most {MAX_ACTIVE_TIERS} tiers at "
                                        "once; archive one first.", code="too_many_tiers")
            tier.active = active
        tier.save()
        return tier
