"""POST /api/v1/events: per-item validation, dedupe, the envelope, and who may post."""

from __future__ import annotations

import json
import socket
from collections.abc import Sequence
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.events.log import LoggedBatch, RedisStreamEventLog, ingest_client, redis_client
from apps.events.models import SpooledBatch
from apps.events.spool import spool_drain
from tests.content.factories import PostFactory
from tests.events.helpers import URL, event, logged_batches, logged_events, now_ms
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

POST = 7_000_000_000_000_001


@pytest.fixture(autouse=True)
def _public_post(db: None) -> None:
    """The events below are about a published public post anyone may see (events about
    posts the sender may not see are dropped: tests/events/test_visibility.py)."""
    PostFactory(id=POST)


def post_batch(client: APIClient | Client, events: Sequence[object], **extra: Any) -> Any:
    return client.post(URL, json.dumps({"events": events}), content_type="application/json",
                       **extra)


def test_good_and_bad_events_in_one_batch_keep_the_good_ones(auth_client, user):
    # given a batch with two good events around three bad ones
    events = [
        event("impression", post_id=POST, id_="a"),
        event("watch_end", post_id=POST, id_="b", watched_ms="lots", duration_ms=10_000),
        event("nonsense", post_id=POST, id_="c"),
        "not an object",
        event("watch_end", post_id=POST, id_="e", watched_ms=4_000, duration_ms=10_000,
              loops=0),
    ]

    response = post_batch(auth_client, events)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["accepted"] == 2
    assert body["duplicates"] == 0
    assert [(r["index"], r["id"]) for r in body["rejected"]] == [(1, "b"), (2, "c"), (3, None)]
    assert body["rejected"][0]["error"]["code"] == "invalid"
    assert body["rejected"][0]["error"]["fields"] == {"data.watched_ms": ["Must be an integer."]}
    assert "type" in body["rejected"][1]["error"]["fields"]
    # and only the good events are in the log, stamped with the user
    batches = logged_batches()
    assert len(batches) == 1
    assert batches[0].user_id == user.pk
    assert [e["id"] for e in batches[0].events] == ["a", "e"]
    assert batches[0].events[1]["data"] == {"watched_ms": 4_000, "duration_ms": 10_000,
                                            "loops": 0}
    assert batches[0].events[0]["post_id"] == POST


@pytest.mark.parametrize(("bad", "field"), [
    ({"ts": 10**30}, "ts"),
    ({"ts": now_ms() + 3 * 24 * 3600 * 1000}, "ts"),
    ({"ts": True}, "ts"),
    ({"id": "x" * 65}, "id"),
    ({"id": ""}, "id"),
    ({"session_id": 12}, "session_id"),
    ({"post_id": "12x"}, "post_id"),
    ({"post_id": str(2**64)}, "post_id"),
    ({"post_id": None}, "post_id"),
    ({"data": []}, "data"),
    ({"data": {"watched_ms": 1}}, "data.watched_ms"),
    ({"extra": 1}, "extra"),
])
def test_each_broken_field_is_reported_for_its_event(auth_client, bad, field):
    raw = {**event("impression", post_id=POST), **bad}

    response = post_batch(auth_client, [raw])

    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 0
    assert field in body["rejected"][0]["error"]["fields"]
    assert logged_batches() == []


@pytest.mark.parametrize(("type_", "data", "field"), [
    ("watch_end", {"watched_ms": 10**12, "duration_ms": 1000}, "data.watched_ms"),
    ("watch_end", {"watched_ms": 5, "duration_ms": 0}, "data.duration_ms"),
    ("watch_progress", {"watched_ms": 5, "duration_ms": 1000, "loops": -1}, "data.loops"),
    ("skip", {"watched_ms": 5}, "data.duration_ms"),
    ("follow", {}, "data.creator_id"),
    ("follow", {"creator_id": 5}, "data.creator_id"),
    ("qoe", {"network_type": "carrier-pigeon"}, "data.network_type"),
    ("qoe", {"error": "e" * 65}, "data.error"),
    ("qoe", {"ttff_ms": 1.5}, "data.ttff_ms"),
    ("like", {"watched_ms": 5}, "data.watched_ms"),
])
def test_data_is_checked_by_type(auth_client, type_, data, field):
    response = post_batch(auth_client, [event(type_, post_id=POST, **data)])

    assert response.status_code == 200
    assert field in response.json()["rejected"][0]["error"]["fields"]


def test_every_type_with_its_data_is_accepted(auth_client):
    creator = "7000000000000099"
    events = [
        event("impression", post_id=POST), event("play_start", post_id=POST),
        event("watch_progress", post_id=POST, watched_ms=1, duration_ms=2, position_ms=1),
        event("watch_end", post_id=POST, watched_ms=1, duration_ms=2, loops=1, position_ms=2),
        event("completion", post_id=POST), event("rewatch", post_id=POST),
        event("skip", post_id=POST, watched_ms=300, duration_ms=9000),
        event("like", post_id=POST), event("comment", post_id=POST),
        event("share", post_id=POST), event("favourite", post_id=POST),
        event("follow", creator_id=creator), event("follow", post_id=POST, creator_id=creator),
        event("not_interested", post_id=POST), event("report"),
        event("qoe", post_id=POST, ttff_ms=350, rebuffer_count=1, rebuffer_ms=900,
              bitrate_kbps=2500, rendition_switches=2, error="", network_type="wifi"),
    ]

    response = post_batch(auth_client, events)

    assert response.json() == {"accepted": len(events), "duplicates": 0, "dropped": 0,
                               "rejected": []}
    follow = next(e for e in logged_events() if e["type"] == "follow")
    assert follow["data"] == {"creator_id": int(creator)}
    assert follow["post_id"] is None


def test_duplicates_are_dropped_within_a_batch_and_across_batches(auth_client):
    first = [event("impression", post_id=POST, id_="same"), event("play_start", post_id=POST,
                                                                   id_="other")]
    again = {**first[0]}

    response = post_batch(auth_client, [*first, again])
    assert response.json() == {"accepted": 2, "duplicates": 1, "dropped": 0, "rejected": []}

    response = post_batch(auth_client, [*first, event("completion", post_id=POST, id_="new")])
    assert response.json() == {"accepted": 1, "duplicates": 2, "dropped": 0, "rejected": []}

    assert [e["id"] for e in logged_events()] == ["same", "other", "new"]


def test_the_same_client_id_from_another_user_is_not_a_duplicate(auth_client):
    other = APIClient()
    other.force_authenticate(UserFactory())

    post_batch(auth_client, [event("impression", post_id=POST, id_="shared")])
    response = post_batch(other, [event("impression", post_id=POST, id_="shared")])

    assert response.json()["accepted"] == 1
    assert len(logged_events()) == 2


def test_a_batch_of_only_duplicates_appends_nothing(auth_client):
    post_batch(auth_client, [event("impression", post_id=POST, id_="x")])
    response = post_batch(auth_client, [event("impression", post_id=POST, id_="x")])

    assert response.json() == {"accepted": 0, "duplicates": 1, "dropped": 0, "rejected": []}
    assert len(logged_batches()) == 1


@pytest.mark.parametrize(("body", "code"), [
    ("{not json", "parse_error"),
    ("[]", "invalid"),
    ('{"events": {}}', "invalid"),
    ('{"events": "x"}', "invalid"),
    ("{}", "invalid"),
    ('{"events": [], "sneaky": 1}', "invalid"),
    ('{"events": ' + "[" * 5000 + "]" * 5000 + "}", None),
])
def test_a_malformed_envelope_is_a_400_in_the_error_shape(auth_client, body, code):
    response = auth_client.post(URL, body, content_type="application/json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "fields"}
    if code:
        assert error["code"] == code
    assert logged_batches() == []


def test_more_than_500_events_is_a_400_and_nothing_is_kept(auth_client):
    events = [event("impression", post_id=POST) for _ in range(501)]

    response = post_batch(auth_client, events)

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["events"] == ["At most 500 events per batch."]
    assert logged_batches() == []


def test_exactly_500_events_are_accepted(auth_client):
    response = post_batch(auth_client, [event("impression", post_id=POST) for _ in range(500)])

    assert response.json()["accepted"] == 500
    assert len(logged_events()) == 500


def test_other_content_types_are_refused(auth_client):
    response = auth_client.post(URL, "events=1", content_type="application/x-www-form-urlencoded")

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_a_signed_out_viewer_posts_with_a_session_id():
    client = APIClient()
    events = [event("impression", post_id=POST, session_id="web-abc", id_="1"),
              event("impression", post_id=POST, session_id="web-abc", id_="1"),
              event("impression", post_id=POST, session_id="web-other", id_="1")]

    response = post_batch(client, events, HTTP_USER_AGENT="Mozilla/5.0 test")

    # the same client id in two sessions is two events; in one session, one
    assert response.json() == {"accepted": 2, "duplicates": 1, "dropped": 0, "rejected": []}
    batch = logged_batches()[0]
    assert batch.user_id is None
    assert batch.client == {"ua": "Mozilla/5.0 test", "auth": "anon"}
    assert abs(batch.received_ms - now_ms()) < 60_000


def _session_client(user) -> tuple[Client, str]:  # type: ignore[no-untyped-def]
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    client.get("/api/v1/ping")  # any page: make sure a CSRF cookie exists
    from django.middleware.csrf import _get_new_csrf_string

    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    return client, token


def test_send_beacon_with_the_csrf_token_in_the_body_works_for_a_session_user(user):
    client, token = _session_client(user)
    body = json.dumps({"events": [event("impression", post_id=POST)], "csrf_token": token})

    response = client.post(URL, body, content_type="text/plain;charset=UTF-8")

    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1
    assert logged_batches()[0].user_id == user.pk
    assert logged_batches()[0].client["auth"] == "session"


def test_the_csrf_header_also_works_for_a_session_user(user):
    client, token = _session_client(user)

    response = client.post(URL, json.dumps({"events": [event("impression", post_id=POST)]}),
                           content_type="application/json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 200
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize("csrf", [None, "wrong-token-wrong-token-wrong-token-wrong-token-12345678",
                                  12])
def test_send_beacon_without_a_valid_csrf_token_is_refused_for_a_session_user(user, csrf):
    client, _token = _session_client(user)
    envelope: dict[str, object] = {"events": [event("impression", post_id=POST)]}
    if csrf is not None:
        envelope["csrf_token"] = csrf

    response = client.post(URL, json.dumps(envelope), content_type="text/plain;charset=UTF-8")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert logged_batches() == []


def test_a_token_user_needs_no_csrf(user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/_allauth/app/v1/auth/login",
                           {"username": user.username, "password": "correct-horse-battery"},
                           content_type="application/json")
    token = response.json()["meta"]["session_token"]

    response = client.post(URL, json.dumps({"events": [event("impression", post_id=POST)]}),
                           content_type="application/json", HTTP_X_SESSION_TOKEN=token,
                           HTTP_X_APP_VERSION="2.1.0")

    assert response.status_code == 200, response.content
    batch = logged_batches()[0]
    assert batch.user_id == user.pk
    assert batch.client["auth"] == "token"
    assert batch.client["app_version"] == "2.1.0"


def test_the_events_throttle_has_its_own_budget(auth_client, settings):
    settings.EVENTS_THROTTLE_RATE = "2/min"

    statuses = [post_batch(auth_client, [event("impression", post_id=POST)]).status_code
                for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert len(logged_batches()) == 2


def test_a_logged_batch_round_trips():
    batch = LoggedBatch(user_id=5, received_ms=1, client={"ua": "x"}, events=[{"id": "1"}])

    assert LoggedBatch.from_json(batch.to_json()) == batch


def test_a_failed_append_spools_the_batch_and_a_retry_meanwhile_is_a_duplicate(auth_client):
    # given a log that refuses the append (the stream key holds the wrong type)
    log = RedisStreamEventLog()
    log.client.set(log.stream, "not a stream")
    events = [event("impression", post_id=POST, id_="r1"), event("play_start", post_id=POST,
                                                                  id_="r2")]

    response = post_batch(auth_client, events)

    # then the batch waits in PostgreSQL (apps.events.spool) ...
    assert response.json() == {"accepted": 2, "duplicates": 0, "dropped": 0, "rejected": []}
    assert SpooledBatch.objects.count() == 1
    # ... and the client's retry of the same batch is a duplicate, not a second copy
    assert post_batch(auth_client, events).json()["duplicates"] == 2
    # when the log is back, the drain appends the batch once
    log.client.delete(log.stream)
    assert spool_drain().appended == 2
    assert [e["id"] for e in logged_events()] == ["r1", "r2"]
    assert not SpooledBatch.objects.exists()


def test_an_unreachable_redis_spools_the_batch_and_a_full_spool_is_a_503(auth_client,
                                                                         settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    redis_client.cache_clear()
    ingest_client.cache_clear()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.EVENTS_SPOOL_MAX_BATCHES = 1
    try:
        spooled = post_batch(auth_client, [event("impression", post_id=POST)])
        refused = post_batch(auth_client, [event("impression", post_id=POST)])
    finally:
        redis_client.cache_clear()
        ingest_client.cache_clear()

    assert spooled.json()["accepted"] == 1
    assert SpooledBatch.objects.count() == 1
    assert refused.status_code == 503
    assert refused.json()["error"]["code"] == "event_log_unavailable"
    assert set(refused.json()["error"]) == {"code", "message", "fields"}
    assert refused.headers["Retry-After"].isdigit()


def test_a_body_over_the_request_size_limit_is_a_413(auth_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    events = [event("impression", post_id=POST) for _ in range(200)]

    response = post_batch(auth_client, events)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert logged_batches() == []


def test_sessions_whose_ids_run_into_event_ids_do_not_collide():
    client = APIClient()
    events = [event("impression", post_id=POST, session_id="a:b", id_="c"),
              event("impression", post_id=POST, session_id="a", id_="b:c")]

    response = post_batch(client, events)

    assert response.json() == {"accepted": 2, "duplicates": 0, "dropped": 0, "rejected": []}
