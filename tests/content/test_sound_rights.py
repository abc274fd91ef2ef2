"""Sound rights end to end: territories (a library sound is usable and audible only where its
licence holds), and sounds that stop being usable (take-down, lapsed licence noticed by the
beat task) are muted wherever they play, with the reason, for every viewer."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from apps.content import services, tasks
from apps.content.models import Post, Sound
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory
from tests.content.helpers import content_snapshot, error_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _create(client, user, **body):  # type: ignore[no-untyped-def]
    asset = MediaAssetFactory(owner=user)
    return client.post("/api/v1/posts", {"asset_id": str(asset.pk), **body}, format="json")


def _post_with(sound: Sound, *, country: str = "GB") -> Post:
    author = UserFactory(country=country)
    return services.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                                sound_id=sound.pk, sound_mix="duck")


@pytest.mark.parametrize("country", ["US", ""])
def test_a_sound_not_licensed_in_the_users_country_cannot_be_used(client_for, country):
    me = UserFactory(country=country)
    track = LibrarySoundFactory(territories=["GB", "IE"])
    before = content_snapshot()
    response = _create(client_for(me), me, sound_id=str(track.pk))
    assert response.status_code == 403, response.content
    error = error_of(response)
    assert error["code"] == "sound_not_licensed_in_territory"
    assert "sound_id" in error["fields"]
    assert content_snapshot() == before
    page = client_for(me).get(f"/api/v1/sounds/{track.pk}").json()
    assert page["usable"] is False
    assert page["muted_reason"] == "territory"
    assert page["audio_url"] is None


def test_a_sound_licensed_in_the_users_country_or_worldwide_is_usable(client_for):
    me = UserFactory(country="IE")
    for territories in (["GB", "IE"], []):
        track = LibrarySoundFactory(territories=territories, audio_file="sounds/audio/t.m4a")
        page = client_for(me).get(f"/api/v1/sounds/{track.pk}").json()
        assert page["usable"] is True
        assert page["muted"] is False
        assert page["muted_reason"] is None
        assert page["audio_url"]
        assert page["territories"] == territories
        response = _create(client_for(me), me, sound_id=str(track.pk))
        assert response.status_code == 201, response.content
        assert response.json()["sound"]["muted"] is False


def test_a_post_is_muted_for_viewers_outside_the_sounds_territories(client_for, api_client):
    track = LibrarySoundFactory(territories=["GB"])
    post = _post_with(track, country="GB")
    url = f"/api/v1/posts/{post.pk}"

    inside = client_for(UserFactory(country="GB")).get(url).json()["sound"]
    assert (inside["muted"], inside["muted_reason"]) == (False, None)
    for viewer_client in (client_for(UserFactory(country="FR")),
                          client_for(UserFactory(country="")), api_client):
        shown = viewer_client.get(url).json()["sound"]
        assert (shown["muted"], shown["muted_reason"]) == (True, "territory")
        # the same answer on every list that renders the post
        for path in (f"/api/v1/sounds/{track.pk}/posts",
                     f"/api/v1/users/{post.author.username}/posts"):
            rows = viewer_client.get(path).json()["results"]
            assert [(r["id"], r["sound"]["muted_reason"]) for r in rows] == \
                [(str(post.pk), "territory")]


def test_the_author_sees_their_own_post_muted_after_moving_out_of_the_territory(client_for):
    track = LibrarySoundFactory(territories=["GB"])
    post = _post_with(track, country="GB")
    author = post.author
    author.country = "DE"
    author.save(update_fields=["country"])
    shown = client_for(author).get(f"/api/v1/posts/{post.pk}").json()
    assert shown["sound"]["muted_reason"] == "territory"


def test_the_beat_task_notices_a_lapsed_licence_and_a_renewal(client_for):
    assert any(entry["task"] == "content.sync_muted_sounds"
               for entry in settings.CELERY_BEAT_SCHEDULE.values())
    track = LibrarySoundFactory(licence_expires_at=timezone.now() + timedelta(days=1))
    post = _post_with(track)
    viewer = client_for(UserFactory(country="GB"))
    assert viewer.get(f"/api/v1/posts/{post.pk}").json()["sound"]["muted"] is False
    assert tasks.sync_muted_sounds() == 0

    # the licence lapses (time passes: moved back rather than waiting a day)
    Sound.objects.filter(pk=track.pk).update(
        licence_expires_at=timezone.now() - timedelta(seconds=1))
    assert tasks.sync_muted_sounds() == 1
    track.refresh_from_db()
    assert track.muted_at is not None
    assert tasks.sync_muted_sounds() == 0  # noticed once
    shown = viewer.get(f"/api/v1/posts/{post.pk}").json()["sound"]
    assert (shown["muted"], shown["muted_reason"]) == (True, "licence_expired")
    me = UserFactory(country="GB")
    refused = _create(client_for(me), me, sound_id=str(track.pk))
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "sound_unavailable"

    # staff renew the licence: audible and usable again
    Sound.objects.filter(pk=track.pk).update(
        licence_expires_at=timezone.now() + timedelta(days=365))
    assert tasks.sync_muted_sounds() == 1
    track.refresh_from_db()
    assert track.muted_at is None
    assert viewer.get(f"/api/v1/posts/{post.pk}").json()["sound"]["muted"] is False
    assert _create(client_for(me), me, sound_id=str(track.pk)).status_code == 201


def test_a_take_down_in_the_admin_mutes_at_once_and_a_restore_unmutes(client_for):
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    track = LibrarySoundFactory()
    post = _post_with(track)
    viewer = client_for(UserFactory(country="GB"))

    staff.post("/django-admin/content/sound/", {
        "action": "take_down", "_selected_action": [str(track.pk)]})
    track.refresh_from_db()
    assert track.is_taken_down
    assert track.muted_at is not None
    shown = viewer.get(f"/api/v1/posts/{post.pk}").json()["sound"]
    assert (shown["muted"], shown["muted_reason"]) == (True, "taken_down")
    assert viewer.get(f"/api/v1/sounds/{track.pk}").json()["audio_url"] is None

    staff.post("/django-admin/content/sound/", {
        "action": "restore", "_selected_action": [str(track.pk)]})
    track.refresh_from_db()
    assert not track.is_taken_down
    assert track.muted_at is None
    assert viewer.get(f"/api/v1/posts/{post.pk}").json()["sound"]["muted"] is False


def test_users_set_their_country_and_language_in_the_profile_and_it_drives_the_rule(
    client_for,
):
    me = UserFactory(country="")
    client = client_for(me)
    track = LibrarySoundFactory(territories=["GB"])
    assert _create(client, me, sound_id=str(track.pk)).status_code == 403

    changed = client.patch("/api/v1/me", {"country": "gb", "language": "pt-BR"}, format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["country"], changed.json()["language"]) == ("GB", "pt-BR")
    me.refresh_from_db()
    assert (me.country, me.language) == ("GB", "pt-BR")
    assert _create(client, me, sound_id=str(track.pk)).status_code == 201

    for bad in ({"country": "ZZ"}, {"country": "GBR"}, {"country": 44}, {"country": None},
                {"language": "not a tag!"}, {"language": "x" * 200}):
        response = client.patch("/api/v1/me", bad, format="json")
        assert response.status_code == 400, (bad, response.content)
        assert set(error_of(response)["fields"]) == set(bad)
    me.refresh_from_db()
    assert (me.country, me.language) == ("GB", "pt-BR")
    cleared = client.patch("/api/v1/me", {"country": ""}, format="json")
    assert cleared.json()["country"] == ""


def test_a_muted_sound_is_taken_out_of_the_video_and_put_back_on_renewal(
    django_capture_on_commit_callbacks,
):
    """The sync task asks media to render the posts again: the recipe leaves a muted
    sound out, so the audio-dependent outputs go stale and are rendered without it."""
    from apps.media import hooks as media_hooks
    from apps.media import services as media_services
    from apps.media.models import ProcessingStep
    from swipeme_site.celery import app

    track = LibrarySoundFactory(audio_file="sounds/audio/hit.m4a")
    post = _post_with(track)
    recipe = media_hooks.asset_recipe(asset_id=post.asset_id)
    assert media_services.recipe_key("rendition-240", recipe) == {
        "sound": "file:sounds/audio/hit.m4a", "mix": "duck"}
    for name in ("rendition-240", "mp4", "poster"):
        ProcessingStep.objects.create(asset_id=post.asset_id, name=name, state="done", output={
            "recipe": media_services.recipe_key(name, recipe)})

    def sync() -> None:
        with django_capture_on_commit_callbacks() as callbacks:
            tasks.sync_muted_sounds()
        eager = app.conf.get("task_always_eager")
        app.conf.update(task_always_eager=True)  # the real media task, run inline
        try:
            for callback in callbacks:  # what the commit sends (media's follow-ups wait)
                callback()
        finally:
            app.conf.update(task_always_eager=eager)

    Sound.objects.filter(pk=track.pk).update(is_taken_down=True)
    sync()
    steps = dict(ProcessingStep.objects.filter(asset_id=post.asset_id)
                 .values_list("name", "state"))
    assert steps == {"rendition-240": "pending", "mp4": "pending", "poster": "done"}
    assert media_services.recipe_key(
        "rendition-240", media_hooks.asset_recipe(asset_id=post.asset_id)) is None

    # rendered without it (as the worker would), then restored: rendered with it again
    for step in ProcessingStep.objects.filter(asset_id=post.asset_id, state="pending"):
        step.state, step.output = "done", {"recipe": media_services.recipe_key(
            step.name, media_hooks.asset_recipe(asset_id=post.asset_id))}
        step.save(update_fields=["state", "output"])
    Sound.objects.filter(pk=track.pk).update(is_taken_down=False)
    sync()
    steps = dict(ProcessingStep.objects.filter(asset_id=post.asset_id)
                 .values_list("name", "state"))
    assert steps == {"rendition-240": "pending", "mp4": "pending", "poster": "done"}
