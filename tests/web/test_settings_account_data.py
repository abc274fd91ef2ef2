"""Issue 12 item 8: the web settings do what the API does. Username change (its rules and
cool-down), data export (request, then download when ready), deactivation and deletion
(the grace period; the password), each behind a recent re-authentication as in the API;
country and language picked from lists, still validated on the server."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from apps.accounts import services as accounts_services
from apps.accounts.models import DataExport
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def _reauthenticate(client: Client) -> None:
    response = client.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert response.status_code == 302


def test_every_settings_section_has_a_tab(browser_for):
    html = browser_for(UserFactory()).get("/settings/account").content.decode()
    for path, label in (("account", "Account"), ("privacy", "Privacy"),
                        ("sessions", "Sessions"), ("blocked", "Blocked"),
                        ("data", "Your data"), ("payouts", "Payouts")):
        assert re.search(rf'<a href="/settings/{path}"[^>]*>{label}</a>', html), label


def test_country_and_language_are_picked_from_lists_and_still_checked(browser_for):
    user = UserFactory(country="", language="")
    client = browser_for(user)
    html = client.get("/settings/account").content.decode()
    assert re.search(r'<select name="country"[^>]*>', html)
    assert '<option value="GB">Britain (UK)</option>' in html
    assert '<option value="FR">France</option>' in html
    assert re.search(r'<select name="language"[^>]*>', html)
    assert '<option value="pt-BR">Brazilian Portuguese (Português Brasileiro)</option>' in html
    assert '<option value="" selected>Not set</option>' in html

    form = {"display_name": "N", "bio": "", "country": "FR", "language": "pt-BR"}
    assert client.post("/settings/account", form).status_code == 302
    user.refresh_from_db()
    assert (user.country, user.language) == ("FR", "pt-BR")
    page = client.get("/settings/account").content.decode()
    assert '<option value="FR" selected>France</option>' in page

    # not on the list: refused with words, nothing saved
    refused = client.post("/settings/account", {**form, "country": "ZZ"})
    assert refused.status_code == 400
    assert "Select a valid choice" in refused.content.decode()
    user.refresh_from_db()
    assert user.country == "FR"


def test_a_code_set_through_the_api_but_not_on_the_list_is_kept(browser_for):
    user = UserFactory(country="", language="")
    accounts_services.user_profile_update(user=user, language="en-ZA")
    client = browser_for(user)
    html = client.get("/settings/account").content.decode()
    assert '<option value="en-ZA" selected>en-ZA</option>' in html
    assert client.post("/settings/account", {"display_name": "x", "bio": "", "country": "",
                                             "language": "en-ZA"}).status_code == 302


def test_a_username_change_asks_to_re_authenticate_then_goes_through_once_per_cooldown(
        browser_for):
    user = UserFactory(username="before")
    client = browser_for(user)
    page = client.get("/settings/account").content.decode()
    assert 'action="/settings/username"' in page
    # no recent re-authentication: allauth's page first, then the kept request goes through
    response = client.post("/settings/username", {"username": "after"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    user.refresh_from_db()
    assert user.username == "before"
    done = client.post("/accounts/reauthenticate/?next=%2Fsettings%2Fusername",
                       {"password": PASSWORD}, follow=True)
    user.refresh_from_db()
    assert user.username == "after"
    assert "Your username is now @after." in done.content.decode()

    # the cool-down: told when, on the page and on a second try
    page = client.get("/settings/account").content.decode()
    assert "data-username-cooldown" in page
    again = client.post("/settings/username", {"username": "third"})
    assert again.status_code == 400
    assert "You can change your username again after" in again.content.decode()
    user.refresh_from_db()
    assert user.username == "after"


def test_a_username_that_breaks_the_rules_is_refused_with_words(browser_for):
    UserFactory(username="taken")
    user = UserFactory(username="mine")
    client = browser_for(user)
    _reauthenticate(client)
    for name, words in (("taken", "taken"), ("a", "2 to 24 characters"), ("admin", "reserved")):
        response = client.post("/settings/username", {"username": name})
        assert response.status_code == 400, name
        assert words in response.content.decode().lower(), (name, response.content.decode())
    user.refresh_from_db()
    assert user.username == "mine"


def test_a_data_export_is_requested_then_downloaded_when_ready(browser_for):
    user = UserFactory()
    client = browser_for(user)
    page = client.get("/settings/data").content.decode()
    assert "Request your data" in page
    assert client.post("/settings/data/export").status_code == 302  # to re-authenticate
    assert not DataExport.objects.filter(user=user).exists()
    _reauthenticate(client)
    response = client.post("/settings/data/export", follow=True)
    export = DataExport.objects.get(user=user)
    html = response.content.decode()
    assert 'data-export-state="pending"' in html
    assert "being prepared" in html
    assert "Request a new copy" not in html  # one at a time

    accounts_services.data_export_build(export_id=export.pk)
    html = client.get("/settings/data").content.decode()
    assert 'data-export-state="ready"' in html
    link = re.search(r'<a class="button" href="([^"]+)" data-export-download>', html)
    assert link
    download = client.get(link.group(1))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"


def test_deactivating_hides_the_account_and_logs_out(browser_for):
    user = UserFactory()
    client = browser_for(user)
    _reauthenticate(client)
    response = client.post("/settings/deactivate", follow=True)
    assert "Your account is deactivated" in response.content.decode()
    user.refresh_from_db()
    assert user.deactivated_at is not None
    assert client.get("/settings/account").status_code == 302  # logged out


def test_deleting_needs_a_re_authentication_the_password_and_a_tick(browser_for):
    user = UserFactory()
    client = browser_for(user)
    form = {"password": PASSWORD, "confirm": "on"}
    # without a recent re-authentication: to allauth's page, and back to the settings page
    response = client.post("/settings/delete", form)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert "next=%2Fsettings%2Fdata" in response["Location"]
    user.refresh_from_db()
    assert user.deletion_scheduled_for is None

    _reauthenticate(client)
    wrong = client.post("/settings/delete", {**form, "password": "nope"})
    assert wrong.status_code == 400
    assert "Enter your current password to delete the account." in wrong.content.decode()
    unticked = client.post("/settings/delete", {"password": PASSWORD})
    assert unticked.status_code == 400
    assert "Tick the box to confirm." in unticked.content.decode()
    user.refresh_from_db()
    assert user.deletion_scheduled_for is None

    done = client.post("/settings/delete", form, follow=True)
    user.refresh_from_db()
    assert user.deletion_scheduled_for is not None
    grace = user.deletion_scheduled_for - timezone.now()
    assert grace > settings.SWIPEME_DELETION_GRACE - timedelta(minutes=1)
    assert f"Your account will be deleted on {user.deletion_scheduled_for:%-d %B %Y}" \
        in done.content.decode()
    assert client.get("/settings/account").status_code == 302  # logged out
