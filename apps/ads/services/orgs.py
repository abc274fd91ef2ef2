"""Advertiser sign-up, members and roles, and the one permission check.

What each role may do (`ROLE_ACTIONS`): admins everything; editors build campaigns, ads
and audiences; analysts read and report; billing reads and funds the balance. Every
service takes the acting user and calls `require(...)`; a non-member gets a 404 (the org's
existence is not confirmed), a member without the right a 403 in words."""

from __future__ import annotations

from enum import StrEnum

from django.contrib.auth import get_user_model
from django.db import transaction

from apps.ads.models import AdvertiserOrg, Membership
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.payments.models import LedgerAccount
from apps.payments.money import SUPPORTED_CURRENCIES
from apps.payments.services.ledger import account_for

User = get_user_model()
Role = Membership.Role


class Action(StrEnum):
    VIEW = "view"  # the org, its campaigns, audiences, balance
    REPORTS = "reports"  # reporting and CSV
    EDIT_CAMPAIGNS = "edit_campaigns"  # campaigns, ad groups, ads, submitting for review
    AUDIENCES = "audiences"  # custom audiences and lookalikes
    BILLING = "billing"  # top-ups
    MEMBERS = "members"  # add, change, remove members; org settings


ROLE_ACTIONS: dict[str, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.EDITOR: frozenset({Action.VIEW, Action.REPORTS, Action.EDIT_CAMPAIGNS, Action.AUDIENCES}),
    Role.ANALYST: frozenset({Action.VIEW, Action.REPORTS}),
    Role.BILLING: frozenset({Action.VIEW, Action.REPORTS, Action.BILLING}),
}

_REFUSALS: dict[Action, str] = {
    Action.VIEW: "You are not a member of this advertiser account.",
    Action.REPORTS: "Your role cannot see reports.",
    Action.EDIT_CAMPAIGNS: "Your role cannot create or change campaigns and ads; ask an "
    "admin or editor.",
    Action.AUDIENCES: "Your role cannot manage audiences; ask an admin or editor.",
    Action.BILLING: "Only admins and billing members can add funds.",
    Action.MEMBERS: "Only admins can manage members.",
}


def user_id_of(user: object) -> int:
    """The signed-in user's id; 0 (no account has it) for anyone else."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return int(getattr(user, "pk", 0) or 0)


def role_of(user: object, org_id: int) -> str | None:
    if not getattr(user, "is_authenticated", False):
        return None
    return (
        Membership.objects.filter(org_id=org_id, user_id=user_id_of(user))
        .values_list("role", flat=True)
        .first()
    )


def can(user: object, org_id: int, action: Action) -> bool:
    role = role_of(user, org_id)
    return role is not None and action in ROLE_ACTIONS[role]


def require(user: object, org_id: int, action: Action) -> str:
    """The member's role, or NotFoundError (not a member) / ForbiddenError (role)."""
    role = role_of(user, org_id)
    if role is None:
        raise NotFoundError("No such advertiser account.", code="org_not_found")
    if action not in ROLE_ACTIONS[role]:
        raise ForbiddenError(_REFUSALS[action], code="role_forbidden")
    return role


def _clean_name(name: str) -> str:
    name = " ".join(str(name).split())
    if not 2 <= len(name) <= 100:
        raise ApplicationError(
            "Name the organisation (2 to 100 characters).",
            fields={"name": ["2 to 100 characters."]},
        )
    return name


def org_signup(
    *, user: object, name: str, country: str, currency: str, timezone_name: str = "UTC"
) -> AdvertiserOrg:
    """A new advertiser organisation with `user` as its admin and an empty prepaid
    balance (a no-negative `ad_balance` ledger account in its currency)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not getattr(user, "is_authenticated", False):
        raise ForbiddenError("Sign in to create an advertiser account.")
    errors: dict[str, list[str]] = {}
    country = str(country).strip().upper()
    if len(country) != 2 or not country.isalpha():
        errors["country"] = ["A two-letter country code, such as US."]
    currency = str(currency).strip().upper()
    if currency not in SUPPORTED_CURRENCIES:
        errors["currency"] = ["One of " + ", ".join(sorted(SUPPORTED_CURRENCIES)) + "."]
    try:
        ZoneInfo(timezone_name)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = ["An IANA time zone such as Europe/Paris."]
    if errors:
        raise ApplicationError("Check the organisation's details.", fields=errors)
    with transaction.atomic():
        org = AdvertiserOrg.objects.create(
            name=_clean_name(name),
            country=country,
            currency=currency,
            timezone=timezone_name,
            created_by_id=getattr(user, "pk", None),
        )
        Membership.objects.create(org=org, user_id=user_id_of(user), role=Role.ADMIN)
        org.balance_account = account_for(
            LedgerAccount.Kind.AD_BALANCE, owner_id=org.pk, asset=currency
        )
        org.save(update_fields=["balance_account", "updated_at"])
    return org


def org_update(
    *, user: object, org: AdvertiserOrg, name: str | None = None, timezone_name: str | None = None
) -> AdvertiserOrg:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    require(user, org.pk, Action.MEMBERS)
    if name is not None:
        org.name = _clean_name(name)
    if timezone_name is not None:
        try:
            ZoneInfo(timezone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ApplicationError(
                "Unknown time zone.",
                fields={"timezone": ["An IANA time zone such as Europe/Paris."]},
            ) from None
        org.timezone = timezone_name
    org.save()
    return org


def _role(value: str) -> str:
    if value not in Role.values:
        raise ApplicationError(
            "Unknown role.",
            code="invalid_role",
            fields={"role": ["One of " + ", ".join(Role.values) + "."]},
        )
    return value


def member_add(*, user: object, org: AdvertiserOrg, identifier: str, role: str) -> Membership:
    """Add an existing SwipeMe account (username or e-mail) with a role."""
    require(user, org.pk, Action.MEMBERS)
    role = _role(role)
    identifier = str(identifier).strip().lstrip("@")
    target = (
        User.objects.filter(email__iexact=identifier).first()
        if "@" in identifier
        else User.objects.filter(username__iexact=identifier).first()
    )
    if target is None or not target.is_active:
        raise NotFoundError(
            "No SwipeMe account with that username or e-mail.",
            code="user_not_found",
            fields={"identifier": ["Not found."]},
        )
    member, created = Membership.objects.get_or_create(
        org=org, user=target, defaults={"role": role}
    )
    if not created:
        raise ConflictError(f"{target.get_username()} is already a member.", code="already_member")
    return member


def _lock_org(org_id: int) -> None:
    """Member changes of one org run one at a time (the org row's lock): two admins
    demoting each other at once cannot leave it without an admin."""
    AdvertiserOrg.objects.select_for_update().filter(pk=org_id).values_list("pk").first()


def _other_admins(org_id: int, user_id: int) -> bool:
    return (
        Membership.objects.filter(org_id=org_id, role=Role.ADMIN).exclude(user_id=user_id).exists()
    )


def member_change_role(
    *, user: object, org: AdvertiserOrg, member_id: int, role: str
) -> Membership:
    require(user, org.pk, Action.MEMBERS)
    role = _role(role)
    with transaction.atomic():
        _lock_org(org.pk)
        member = Membership.objects.filter(org=org, pk=member_id).first()
        if member is None:
            raise NotFoundError("No such member.")
        if (
            member.role == Role.ADMIN
            and role != Role.ADMIN
            and not _other_admins(org.pk, member.user_id)
        ):
            raise ConflictError(
                "An advertiser account needs at least one admin: make someone else admin first.",
                code="last_admin",
            )
        member.role = role
        member.save(update_fields=["role", "updated_at"])
    return member


def member_remove(*, user: object, org: AdvertiserOrg, member_id: int) -> None:
    """Admins remove anyone but the last admin; any member may leave (same rule)."""
    member = Membership.objects.filter(org=org, pk=member_id).first()
    if member is None or (member.user_id != getattr(user, "pk", None)):
        require(user, org.pk, Action.MEMBERS)
    if member is None:
        raise NotFoundError("No such member.")
    with transaction.atomic():
        _lock_org(org.pk)
        locked = Membership.objects.filter(pk=member.pk).first()
        if locked is None:
            return
        if locked.role == Role.ADMIN and not _other_admins(org.pk, locked.user_id):
            raise ConflictError(
                "An advertiser account needs at least one admin: make someone else admin first.",
                code="last_admin",
            )
        locked.delete()
