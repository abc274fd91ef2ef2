"""Issue 12, item 10: /pages/ is a real SwipeMe page (seeded), and the Wagtail admin makes
no requests to Gravatar or Wagtail's release feed."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client
from wagtail.coreutils import get_supported_content_language_variant
from wagtail.models import Locale, Page, Site

from apps.cms.models import HelpPage
from tests.factories import UserFactory


@pytest.fixture
def wagtail_as_migrated(db: None) -> None:
    """The tree Wagtail's own migration makes (a root, its welcome page, the default site).
    A transactional test's flush removes it, and with two workers one may have run before
    these in the same database."""
    if Page.objects.filter(depth=1).exists():
        return
    Locale.objects.get_or_create(
        language_code=get_supported_content_language_variant(settings.LANGUAGE_CODE))
    root = Page.add_root(title="Root", slug="root")
    home = root.add_child(instance=Page(title="Welcome to your new Wagtail site!", slug="home"))
    Site.objects.create(hostname="localhost", root_page=home, is_default_site=True)


@pytest.mark.usefixtures("wagtail_as_migrated")
def test_pages_root_is_the_seeded_swipeme_home_not_wagtails_welcome():
    assert "Welcome to your new Wagtail site" in Client().get("/pages/").content.decode()
    call_command("seed_help_centre")
    response = Client().get("/pages/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Welcome to your new Wagtail site" not in html
    assert 'class="topbar"' in html
    assert "SwipeMe help and policies" in html
    for link in ("/pages/help/", "/pages/community-guidelines/", "/pages/terms/",
                 "/pages/privacy-policy/"):
        assert f'href="{link}"' in html
        assert Client().get(link).status_code == 200, link
    # the placeholder is gone; seeding again changes nothing
    assert not Page.objects.filter(title__startswith="Welcome to your new Wagtail").exists()
    home = Site.objects.get(is_default_site=True).root_page
    call_command("seed_help_centre")
    assert Site.objects.get(is_default_site=True).root_page == home
    assert isinstance(home.specific, HelpPage)
    assert HelpPage.objects.filter(slug="help").count() == 1


@pytest.mark.usefixtures("wagtail_as_migrated")
def test_the_cms_admin_fetches_nothing_from_gravatar_or_the_release_feed():
    staff = UserFactory(is_staff=True, is_superuser=True, email="editor@swipeme.test")
    client = Client()
    client.force_login(staff)
    for path in ("/cms/", "/cms/account/"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert "gravatar.com" not in html, path
        assert "w-upgrade" not in html, path  # the release check's Stimulus controller
        assert "releases.wagtail.io" not in html, path


@pytest.mark.django_db
def test_seeding_a_flushed_database_makes_the_tree_the_site_and_the_home():
    Site.objects.all().delete()
    Page.objects.all().delete()
    call_command("seed_help_centre")
    response = Client().get("/pages/")
    assert response.status_code == 200
    assert "SwipeMe help and policies" in response.content.decode()
    assert Client().get("/pages/community-guidelines/").status_code == 200
