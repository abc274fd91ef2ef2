"""Live covers are private files served through live's one rule (`playback.cover`,
`GET /live/<id>/cover`): a followers-only live's cover is its followers' (and the host's);
a stranger, a signed-out viewer, a blocked one or anyone after the end gets the same 404 as
for an unknown live. The files are outside MEDIA_ROOT (which nginx serves to anyone), and
the migration moves covers already under public media."""

from __future__ import annotations

import importlib
import io
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from PIL import Image

from apps.accounts.models import User
from apps.live import selectors
from apps.live.models import LiveStream
from apps.live.storage import cover_storage
from apps.social.services import block_create, follow_create
from tests.factories import UserFactory
from tests.live.live_helpers import live_row

pytestmark = pytest.mark.django_db


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 90)).save(out, format="PNG")
    return out.getvalue()


def with_cover(live: LiveStream) -> LiveStream:
    live.cover.save("cover.png", ContentFile(png()), save=True)
    return live


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_a_followers_only_cover_is_for_followers_and_the_host_only() -> None:
    host = UserFactory()
    follower, stranger, blocked = UserFactory.create_batch(3)
    follow_create(follower=follower, followee=host)
    follow_create(follower=blocked, followee=host)
    block_create(blocker=host, blocked=blocked)
    live = with_cover(live_row(host, audience=LiveStream.Audience.FOLLOWERS))
    url = selectors.cover_url(live)
    assert url is not None
    assert url.startswith(f"/live/{live.pk}/cover?v=")

    answer = client_for(follower).get(url)
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/png"
    assert answer["Cache-Control"] == "private, max-age=300"
    assert b"".join(answer.streaming_content) == png()  # type: ignore[attr-defined]
    assert client_for(host).get(url).status_code == 200
    for viewer in (stranger, blocked, None):
        refused = client_for(viewer).get(url)
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"
        # the same answer as for a live that does not exist
        assert refused.json() == client_for(viewer).get("/live/123456789/cover").json()

    LiveStream.objects.filter(pk=live.pk).update(state=LiveStream.State.ENDED)
    assert client_for(follower).get(url).status_code == 404
    assert client_for(host).get(url).status_code == 200  # the host's end screen


def test_covers_are_stored_outside_public_media_and_shown_through_the_view() -> None:
    host = UserFactory()
    live = with_cover(live_row(host))
    name = str(live.cover.name)
    path = Path(cover_storage().path(name))
    assert path.is_file()
    assert Path(settings.MEDIA_ROOT).resolve() not in path.resolve().parents
    assert not default_storage.exists(name)
    # the API and the pages link to the view, never to MEDIA_URL
    detail = client_for(None).get(f"/api/v1/live/{live.pk}").json()
    assert detail["cover_url"] == selectors.cover_url(live)
    assert client_for(None).get(detail["cover_url"]).status_code == 200
    page = client_for(None).get(f"/live/{live.pk}").content.decode()
    assert f'src="{selectors.cover_url(live)}"' in page
    assert settings.MEDIA_URL + "live/covers" not in page


def test_no_cover_and_bad_methods() -> None:
    live = live_row(UserFactory())
    assert selectors.cover_url(live) is None
    assert client_for(None).get(f"/live/{live.pk}/cover").status_code == 404
    assert client_for(None).post(f"/live/{live.pk}/cover").status_code == 405


def test_the_migration_moves_public_covers_into_private_storage() -> None:
    host = UserFactory()
    live = live_row(host)
    name = default_storage.save("live/covers/old-public.png", ContentFile(png()))
    LiveStream.objects.filter(pk=live.pk).update(cover=name)
    migration = importlib.import_module("apps.live.migrations.0003_cover_private_storage")

    migration.move_covers_to_private_storage(django_apps, None)
    assert not default_storage.exists(name)
    assert cover_storage().exists(name)
    live.refresh_from_db()
    assert live.cover.name == name
    assert client_for(None).get(str(selectors.cover_url(live))).status_code == 200
    migration.move_covers_to_private_storage(django_apps, None)  # again: nothing to do
    assert cover_storage().exists(name)
    cover_storage().delete(name)
