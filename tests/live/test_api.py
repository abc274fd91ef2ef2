"""The core live API: set up, detail, PATCH, end, replay, stats, eligibility and the stream
key. Other people's lives are 404s, bad input is a 400 in the error shape, refusals come
in words (minors included). The write routes take row locks: transaction=True."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from apps.live.models import LiveStream, StreamKey
from apps.live.services import publish_started
from tests.factories import UserFactory
from tests.live.live_helpers import client_for, host, on_air
from tests.social.factories import FollowFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()["error"]
    assert set(body) == {"code", "message", "fields"}
    assert body["message"]
    if code is not None:
        assert body["code"] == code
    return dict(body)


def _png() -> io.BytesIO:
    data = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(data, "PNG")
    data.name = "cover.png"
    data.seek(0)
    return data


def test_a_creator_sets_up_gets_a_key_goes_live_and_ends_with_stats():
    creator = host()
    me = client_for(creator)
    assert me.get("/api/v1/live/eligibility").json() == {"can_go_live": True, "code": "",
                                                         "message": ""}
    assert me.get("/api/v1/live/key").json() == {"key": None}
    made = me.post("/api/v1/live/key")
    assert made.status_code == 201
    plain = made.json()["key"]
    assert plain.startswith("live_")
    assert made.json()["rtmp_url"].startswith("rtmp://")
    shown = me.get("/api/v1/live/key").json()["key"]
    assert plain not in str(shown)
    assert shown["prefix"] == plain[:9]

    created = me.post("/api/v1/live", {"title": "  Late  night   jam ", "audience": "followers",
                                       "cover": _png()}, format="multipart")
    assert created.status_code == 201, created.content
    body = created.json()
    live_id = body["id"]
    assert body["title"] == "Late night jam"
    assert body["state"] == "created"
    assert body["playback_url"] == f"/live/{live_id}/hls/index.m3u8"
    # served through the visibility rule (playback.cover), not from public media
    assert body["cover_url"].startswith(f"/live/{live_id}/cover?v=")
    page_client = Client()  # a page's request (force_authenticate is the API's only)
    page_client.force_login(creator)
    assert page_client.get(body["cover_url"]).status_code == 200
    assert Client().get(body["cover_url"]).status_code == 404  # followers-only, not on air
    assert body["is_host"] is True

    publish_started(key=plain, publisher="rtmp:1", protocol="rtmp")
    assert me.get(f"/api/v1/live/{live_id}").json()["state"] == "live"
    renamed = me.patch(f"/api/v1/live/{live_id}", {"title": "Jam", "audience": "everyone"},
                       format="json")
    assert renamed.status_code == 200
    assert (renamed.json()["title"], renamed.json()["audience"]) == ("Jam", "everyone")
    assert client_for(None).get(f"/api/v1/live/{live_id}").json()["is_host"] is False

    again = me.post("/api/v1/live", {"title": "Another"}, format="json")
    _error(again, 409, "already_live")

    assert me.post(f"/api/v1/live/{live_id}/replay", {"save": True},
                   format="json").json()["save_replay"] is True
    ended = me.post(f"/api/v1/live/{live_id}/end")
    assert ended.status_code == 200
    assert ended.json()["state"] == "ended"
    assert ended.json()["end_reason"] == "host"
    assert me.post(f"/api/v1/live/{live_id}/end").status_code == 200  # idempotent
    stats = me.get(f"/api/v1/live/{live_id}/stats")
    assert stats.status_code == 200
    assert set(stats.json()) >= {"peak_viewers", "unique_viewers", "average_viewers",
                                 "watch_seconds", "likes", "gift_coins", "new_followers",
                                 "duration_seconds"}
    _error(me.patch(f"/api/v1/live/{live_id}", {"title": "x"}, format="json"), 409,
           "live_ended")
    assert me.delete("/api/v1/live/key").status_code == 204
    _error(me.delete("/api/v1/live/key"), 404)


def test_other_people_and_signed_out_callers_get_404s_and_401s_in_the_error_shape():
    creator, stranger = host(), UserFactory()
    live, _ = on_air(creator, audience=LiveStream.Audience.FOLLOWERS)
    them = client_for(stranger)
    for method, path, data in (
            ("get", f"/api/v1/live/{live.pk}", None),
            ("patch", f"/api/v1/live/{live.pk}", {"title": "mine"}),
            ("post", f"/api/v1/live/{live.pk}/end", None),
            ("post", f"/api/v1/live/{live.pk}/replay", {"save": True}),
            ("get", f"/api/v1/live/{live.pk}/stats", None)):
        _error(getattr(them, method)(path, data, format="json"), 404, "not_found")
    # a follower sees it but may not change it
    FollowFactory(follower=stranger, followee=creator)
    assert them.get(f"/api/v1/live/{live.pk}").status_code == 200
    _error(them.post(f"/api/v1/live/{live.pk}/end"), 404)
    live.refresh_from_db()
    assert live.state == LiveStream.State.LIVE
    assert live.title != "mine"
    anon = client_for(None)
    for method, path in (("post", "/api/v1/live"), ("get", "/api/v1/live/key"),
                         ("post", "/api/v1/live/key"), ("delete", "/api/v1/live/key"),
                         ("get", "/api/v1/live/eligibility"),
                         ("post", f"/api/v1/live/{live.pk}/end"),
                         ("patch", f"/api/v1/live/{live.pk}")):
        _error(getattr(anon, method)(path, {}, format="json"), 401)
    for bad in ("abc", "0", "1" * 30, "-1"):
        _error(them.get(f"/api/v1/live/{bad}"), 404, "not_found")
        _error(them.post(f"/api/v1/live/{bad}/end"), 404, "not_found")


@pytest.mark.parametrize(("data", "field"), [
    ({}, "title"),
    ({"title": "   "}, "title"),
    ({"title": "x" * 101}, "title"),
    ({"title": "ok", "audience": "friends"}, "audience"),
    ({"title": ["a"]}, "title"),
])
def test_bad_set_up_input_is_a_400_naming_the_field(data, field):
    error = _error(client_for(host()).post("/api/v1/live", data, format="json"), 400)
    assert field in error["fields"]


def test_a_cover_that_is_not_an_image_and_bad_replay_and_patch_input_are_400s():
    creator = host()
    me = client_for(creator)
    text = io.BytesIO(b"not an image")
    text.name = "cover.png"
    error = _error(me.post("/api/v1/live", {"title": "x", "cover": text},
                           format="multipart"), 400)
    assert "cover" in error["fields"]
    live, _ = on_air(creator)
    for bad in ("yes", 1, None, "true"):
        error = _error(me.post(f"/api/v1/live/{live.pk}/replay", {"save": bad},
                               format="json"), 400)
        assert "save" in error["fields"]
    error = _error(me.patch(f"/api/v1/live/{live.pk}", {"audience": "nobody"},
                            format="json"), 400)
    assert "audience" in error["fields"]


def test_nothing_recorded_means_no_replay_in_words():
    creator = host()
    me = client_for(creator)
    me.post("/api/v1/live/key")
    live_id = me.post("/api/v1/live", {"title": "x"}, format="json").json()["id"]
    me.post(f"/api/v1/live/{live_id}/end")
    error = _error(me.post(f"/api/v1/live/{live_id}/replay", {"save": True}, format="json"),
                   409, "nothing_recorded")
    assert error["message"] == ("No video arrived during this live, so there is nothing to "
                                "save.")


@pytest.mark.parametrize(("kwargs", "code", "message"), [
    ({"date_of_birth": timezone.localdate() - timedelta(days=365 * 16)}, "too_young",
     "Going live is for people 18 and over."),
    ({"date_of_birth": None}, "age_unknown", "Add your date of birth in settings to go live."),
    ({"date_joined": timezone.now() - timedelta(days=2)}, "account_too_new",
     "Your account must be 7 days old to go live (in 5 days)."),
    ({"followers_count": 3}, "too_few_followers",
     "You need 50 followers to go live (you have 3)."),
])
def test_who_may_not_go_live_is_told_why_and_refused_a_key_and_a_live(kwargs, code, message):
    person = host(**kwargs)
    me = client_for(person)
    assert me.get("/api/v1/live/eligibility").json() == {"can_go_live": False, "code": code,
                                                         "message": message}
    for path, data in (("/api/v1/live/key", None), ("/api/v1/live", {"title": "x"})):
        error = _error(me.post(path, data, format="json"), 403, code)
        assert error["message"] == message
    assert not StreamKey.objects.filter(user_id=person.pk).exists()
    assert not LiveStream.objects.filter(host_id=person.pk).exists()
