"""Look-alike usernames and unverified accounts (issue 11, item 4).

Every user's `username_skeleton` is computed however the row is written (seeds and
factories included, and a data migration for existing rows), mostly-Cyrillic imitations
of Latin names are refused, and an account without a verified e-mail address is hidden
from others (profiles, lists, suggestions) until it verifies; its owner still sees it."""

from __future__ import annotations

import importlib

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.usernames import skeleton, validate_username, validate_username_format
from tests.accounts.conftest import APP, PASSWORD, MobileClient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _signup(username: str):
    return MobileClient().post(f"{APP}/auth/signup", {
        "email": f"new{abs(hash(username))}@example.com", "username": username,
        "password": PASSWORD, "date_of_birth": "1999-04-01"})


# --- skeletons -------------------------------------------------------------------------------


def test_the_skeleton_is_computed_however_a_user_is_written():
    created = User.objects.create_user(username="nina", email="nina@example.com",
                                       password=PASSWORD)
    assert created.username_skeleton == skeleton("nina") != ""
    created.username = "elsa"
    created.save(update_fields=["username"])
    assert User.objects.get(pk=created.pk).username_skeleton == skeleton("elsa")
    assert UserFactory(username="chloe").username_skeleton == skeleton("chloe")


def test_seeded_users_have_skeletons_so_lookalikes_of_them_are_refused():
    from apps.web.seed import catalogue

    catalogue.ensure_users(catalogue.Report())
    assert not User.objects.filter(username_skeleton="").exists()
    for lookalike in ("n1na", "el5a", "ch1oe"):
        response = _signup(lookalike)
        assert response.status_code == 400, (lookalike, response.json())
        [error] = response.json()["errors"]
        assert error["param"] == "username"
        assert "looks too much like an existing one" in error["message"]
    # and the seeded accounts are verified, so they are visible
    assert not User.objects.exclude(emailaddress__verified=True).exists()


def test_the_migration_computes_every_missing_or_stale_skeleton():
    nina, elsa = UserFactory(username="nina"), UserFactory(username="elsa")
    User.objects.filter(pk=nina.pk).update(username_skeleton="")
    User.objects.filter(pk=elsa.pk).update(username_skeleton="stale")
    migration = importlib.import_module(
        "apps.accounts.migrations.0004_compute_username_skeletons")
    migration.compute_skeletons(django_apps, None)
    assert dict(User.objects.values_list("username", "username_skeleton")) == {
        "nina": skeleton("nina"), "elsa": skeleton("elsa")}
    with pytest.raises(ValidationError) as excinfo:
        validate_username("n1na")
    assert excinfo.value.code == "lookalike"


@pytest.mark.parametrize("name", ["ѕам", "Ѕам", "том", "мама"])
def test_names_written_in_lookalikes_of_latin_letters_are_refused(name):
    with pytest.raises(ValidationError) as excinfo:
        validate_username_format(name)
    assert excinfo.value.code == "confusable"
    assert "imitates Latin letters" in excinfo.value.messages[0]


@pytest.mark.parametrize("name", ["саша", "Иван", "пётр", "наташа"])
def test_real_cyrillic_names_are_still_accepted(name):
    validate_username_format(name)


def test_signup_refuses_the_cyrillic_sam_beside_sam_with_a_clear_message():
    UserFactory(username="sam")
    response = _signup("ѕам")
    assert response.status_code == 400, response.json()
    [error] = response.json()["errors"]
    assert error["param"] == "username"
    assert "ѕ looks like s" in error["message"]
    assert skeleton("ѕам") == skeleton("sam")


# --- unverified accounts are hidden until they verify ----------------------------------------


@pytest.fixture
def unverified():
    user = UserFactory(username="ghost")
    EmailAddress.objects.filter(user=user).update(verified=False)
    return user


def test_an_unverified_account_has_no_public_profile(unverified):
    viewer = APIClient()
    viewer.force_authenticate(UserFactory())
    assert viewer.get("/api/v1/users/ghost").status_code == 404
    assert APIClient().get("/api/v1/users/ghost").status_code == 404
    assert APIClient().get("/api/v1/users/ghost/followers").status_code == 404
    assert Client().get("/@ghost").status_code == 404
    # once verified it appears
    EmailAddress.objects.filter(user=unverified).update(verified=True)
    assert APIClient().get("/api/v1/users/ghost").status_code == 200
    assert Client().get("/@ghost").status_code == 200


def test_an_account_with_no_address_at_all_is_hidden_too():
    UserFactory(username="nomail", email="")
    assert APIClient().get("/api/v1/users/nomail").status_code == 404


def test_the_owner_still_sees_their_own_profile(unverified):
    owner = APIClient()
    owner.force_authenticate(unverified)
    response = owner.get("/api/v1/users/ghost")
    assert response.status_code == 200, response.json()
    assert owner.get("/api/v1/users/ghost/followers").status_code == 200
    browser = Client()
    browser.force_login(unverified)
    assert browser.get("/@ghost").status_code == 200


def test_unverified_accounts_are_left_out_of_suggestions_and_cannot_be_followed(unverified):
    viewer = UserFactory(username="viewer")
    UserFactory(username="ghostwriter")
    browser = Client()
    browser.force_login(viewer)
    results = browser.get("/web/suggest/users?q=@gho").json()["results"]
    assert [row["username"] for row in results] == ["ghostwriter"]
    api = APIClient()
    api.force_authenticate(viewer)
    assert api.post("/api/v1/users/ghost/follow").status_code == 404
    assert not unverified.is_discoverable
    assert viewer.is_discoverable


def test_an_unverified_account_is_told_why_it_cannot_follow(unverified):
    target = UserFactory(username="someone")
    api = APIClient()
    api.force_authenticate(unverified)
    response = api.post("/api/v1/users/someone/follow")
    assert response.status_code == 403, response.json()
    error = response.json()["error"]
    assert error["code"] == "email_unverified"
    assert "Verify an e-mail address first" in error["message"]
    from apps.social.models import Follow

    assert not Follow.objects.filter(follower=unverified, followee=target).exists()
