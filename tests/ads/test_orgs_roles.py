"""Advertiser orgs: sign-up, members and roles (what each may do), and isolation between
orgs (an advertiser can never see or edit another org's campaigns, ads or audiences)."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.ads import selectors
from apps.ads.models import Membership
from apps.ads.services import ad_groups, ads, audiences, campaigns, orgs
from apps.ads.services.orgs import ROLE_ACTIONS, Action
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.payments.models import LedgerAccount
from tests.ads.core_helpers import ad_for, campaign_for, group_for, org_with
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_sign_up_makes_the_user_admin_with_an_empty_no_negative_balance() -> None:
    user = UserFactory()
    org = orgs.org_signup(user=user, name="  Acme   Ads ", country="fr", currency="eur",
                          timezone_name="Europe/Paris")
    assert (org.name, org.country, org.currency, org.timezone) == (
        "Acme Ads", "FR", "EUR", "Europe/Paris")
    assert Membership.objects.get(org=org).user_id == user.pk
    assert orgs.role_of(user, org.pk) == "admin"
    assert org.balance_account_id is not None
    account = LedgerAccount.objects.get(pk=org.balance_account_id)
    assert (account.kind, account.owner_id, account.asset, account.no_negative,
            account.balance) == ("ad_balance", org.pk, "EUR", True, 0)


@pytest.mark.parametrize(("field", "kw"), [
    ("country", {"country": "France"}), ("currency", {"currency": "GBP"}),
    ("timezone", {"timezone_name": "Mars/Base"}), ("name", {"name": "x"})])
def test_sign_up_refuses_bad_details_in_words(field: str, kw: dict[str, str]) -> None:
    args = {"name": "Acme", "country": "US", "currency": "USD"} | kw
    with pytest.raises(ApplicationError) as refused:
        orgs.org_signup(user=UserFactory(), **args)
    assert field in (refused.value.fields or {}) or refused.value.message


def test_each_role_may_do_only_its_part() -> None:
    users: dict[str, User] = {role: UserFactory() for role in ("editor", "analyst", "billing")}
    org, admin = org_with(users)
    users["admin"] = admin
    expected = {
        "admin": set(Action),
        "editor": {Action.VIEW, Action.REPORTS, Action.EDIT_CAMPAIGNS, Action.AUDIENCES},
        "analyst": {Action.VIEW, Action.REPORTS},
        "billing": {Action.VIEW, Action.REPORTS, Action.BILLING},
    }
    for role, user in users.items():
        allowed = {action for action in Action if orgs.can(user, org.pk, action)}
        assert allowed == expected[role] == set(ROLE_ACTIONS[role]), role
    # Through the services: the analyst cannot create a campaign, the editor cannot add
    # members, billing cannot upload an audience; each refusal is in words.
    with pytest.raises(ForbiddenError, match="cannot create or change campaigns"):
        campaign_for(org, users["analyst"])
    with pytest.raises(ForbiddenError, match="Only admins can manage members"):
        orgs.member_add(user=users["editor"], org=org, identifier=UserFactory().username,
                        role="analyst")
    with pytest.raises(ForbiddenError, match="cannot manage audiences"):
        audiences.audience_upload(user=users["billing"], org=org, name="x", lines=["a" * 64])
    assert campaign_for(org, users["editor"]).org_id == org.pk


def test_members_are_added_by_username_or_email_and_the_last_admin_stays() -> None:
    org, admin = org_with()
    by_name = UserFactory()
    by_mail = UserFactory(email="Someone@Example.com")
    m1 = orgs.member_add(user=admin, org=org, identifier=f"@{by_name.username}", role="editor")
    m2 = orgs.member_add(user=admin, org=org, identifier="someone@example.com", role="billing")
    assert (m1.user_id, m2.user_id) == (by_name.pk, by_mail.pk)
    with pytest.raises(ConflictError, match="already a member"):
        orgs.member_add(user=admin, org=org, identifier=by_name.username, role="analyst")
    with pytest.raises(NotFoundError):
        orgs.member_add(user=admin, org=org, identifier="nobody-here", role="analyst")
    with pytest.raises(ApplicationError, match="Unknown role"):
        orgs.member_add(user=admin, org=org, identifier=UserFactory().username, role="owner")
    own = Membership.objects.get(org=org, user=admin)
    with pytest.raises(ConflictError, match="at least one admin"):
        orgs.member_change_role(user=admin, org=org, member_id=own.pk, role="editor")
    with pytest.raises(ConflictError, match="at least one admin"):
        orgs.member_remove(user=admin, org=org, member_id=own.pk)
    orgs.member_change_role(user=admin, org=org, member_id=m1.pk, role="admin")
    orgs.member_change_role(user=admin, org=org, member_id=own.pk, role="analyst")
    assert orgs.role_of(admin, org.pk) == "analyst"
    # a member may leave on their own
    orgs.member_remove(user=by_mail, org=org, member_id=m2.pk)
    assert orgs.role_of(by_mail, org.pk) is None


def test_an_advertiser_never_sees_or_edits_another_orgs_things() -> None:
    mine, me = org_with(name="Mine")
    theirs, them = org_with(name="Theirs")
    their_campaign = campaign_for(theirs, them)
    their_group = group_for(their_campaign, them)
    their_ad = ad_for(their_group, them)
    their_audience = audiences.audience_upload(user=them, org=theirs, name="VIP",
                                               lines=["b" * 64])
    # Reads: another org's things are "not found", as missing ones.
    with pytest.raises(NotFoundError):
        selectors.campaigns_for(me, theirs.pk)
    with pytest.raises(NotFoundError):
        selectors.campaign_for(me, their_campaign.pk)
    with pytest.raises(NotFoundError):
        selectors.ad_group_for(me, their_group.pk)
    with pytest.raises(NotFoundError):
        selectors.ad_for(me, their_ad.pk)
    with pytest.raises(NotFoundError):
        selectors.audience_for(me, their_audience.pk)
    with pytest.raises(NotFoundError):
        selectors.audiences_for(me, theirs.pk)
    assert list(selectors.orgs_of(me)) == [mine]
    # Writes: editing through the services asks for membership of the thing's own org.
    with pytest.raises(NotFoundError):
        campaigns.campaign_update(user=me, campaign=their_campaign, name="Hijacked")
    with pytest.raises(NotFoundError):
        ads.ad_update(user=me, ad=their_ad, landing_url="https://evil.example.com/")
    # Targeting one's own group at another org's audience: refused as unknown.
    my_group = group_for(campaign_for(mine, me), me)
    with pytest.raises(ApplicationError) as refused:
        ad_groups.ad_group_update(user=me, group=my_group,
                                  custom_audience_ids=[their_audience.pk])
    assert "custom_audience_ids" in (refused.value.fields or {})
    # Using another member's video as one's creative: refused.
    with pytest.raises(ApplicationError) as refused:
        ad_for(my_group, me, asset=their_ad.asset)
    assert "asset_id" in (refused.value.fields or {})
    their_campaign.refresh_from_db()
    assert their_campaign.name == "Spring"
    # The portal's lists stay within the org.
    assert list(selectors.campaigns_for(them, theirs.pk)) == [their_campaign]
    assert list(selectors.org_ads(them, theirs.pk)) == [their_ad]
    assert list(selectors.org_ads(me, mine.pk)) == []


@pytest.mark.django_db(transaction=True)
def test_role_changes_take_the_orgs_lock_inside_a_transaction() -> None:
    """No test transaction: the org row's lock must be inside the service's own atomic."""
    org, admin = org_with()
    other = orgs.member_add(user=admin, org=org, identifier=UserFactory().username,
                            role="editor")
    orgs.member_change_role(user=admin, org=org, member_id=other.pk, role="admin")
    orgs.member_remove(user=admin, org=org, member_id=other.pk)
    assert list(Membership.objects.filter(org=org).values_list("role", flat=True)) == ["admin"]
