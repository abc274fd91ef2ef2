"""The live's life through the services the ingest calls: stream keys (shown once,
rotated, revoked), publish_started's refusals in words (unknown key, revoked key, a creator
who may not go live, no live set up, a second publisher), a dropped connection back within
the window continuing the SAME live, the window's timer ending it otherwise, and the end
(idempotent; a revoked key ends the live it streams). Row locks: transaction=True."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections
from django.utils import timezone

from apps.core.errors import ApplicationError, ConflictError
from apps.core.models import OutboxTask
from apps.live import selectors, tasks
from apps.live.ingest import control
from apps.live.ingest.transcoder import ENDED_MARKER
from apps.live.models import LivePolicy, LiveStream, StreamKey
from apps.live.services import (
    IngestRefused,
    key_create,
    key_lookup,
    key_revoke,
    lifecycle,
    live_create,
    live_end,
    publish_started,
    publish_stopped,
)
from apps.moderation.services import enforce
from tests.live.live_helpers import host, on_air, set_up

pytestmark = pytest.mark.django_db(transaction=True)

State = LiveStream.State


def _refused(code: str, **kwargs: str) -> IngestRefused:
    with pytest.raises(IngestRefused) as caught:
        publish_started(**{"publisher": "rtmp:9", "protocol": "rtmp", **kwargs})
    assert caught.value.code == code
    assert caught.value.message.endswith(".")  # words, not a code
    assert kwargs["key"] not in caught.value.message
    return caught.value


def test_keys_are_shown_once_stored_hashed_rotated_and_revoked():
    creator = host()
    key, plain = key_create(creator)
    assert plain.startswith("live_")
    assert len(plain) > 40
    assert key.key_hash != plain
    assert plain not in key.key_hash
    assert key.prefix == plain[:9]
    assert key_lookup(plain) == key
    assert key_lookup("live_" + "x" * 43) is None
    assert key_lookup("not a key") is None

    rotated, plain2 = key_create(creator)  # rotation: the old key stops working
    assert plain2 != plain
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert rotated.revoked_at is None
    assert StreamKey.objects.filter(user_id=creator.pk, revoked_at__isnull=True).count() == 1

    assert key_revoke(creator) == rotated
    assert key_revoke(creator) is None  # nothing left to revoke
    assert selectors.active_key(creator) is None


def test_concurrent_rotations_leave_exactly_one_active_key():
    creator = host()
    errors: list[BaseException] = []

    def rotate() -> None:
        try:
            key_create(creator)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=rotate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert StreamKey.objects.filter(user_id=creator.pk).count() == 4
    assert StreamKey.objects.filter(user_id=creator.pk, revoked_at__isnull=True).count() == 1


def test_the_ingest_refuses_wrong_revoked_ineligible_unset_and_second_publishers():
    creator = host()
    _refused("unknown_key", key="live_nope")
    key, plain = key_create(creator)
    # no live set up yet
    _refused("no_live", key=plain)
    live = live_create(creator, title="Hello", audience="everyone")
    started = publish_started(key=plain, publisher="rtmp:1", protocol="rtmp")
    assert started.pk == live.pk
    assert started.state == State.LIVE
    assert started.started_at is not None
    assert started.key_id == key.pk
    # the same connection told twice is the same live; another publisher is refused
    assert publish_started(key=plain, publisher="rtmp:1", protocol="rtmp").pk == live.pk
    _refused("already_publishing", key=plain)
    # a revoked key: refused, and the live it was streaming ended
    key_revoke(creator)
    _refused("key_revoked", key=plain)
    live.refresh_from_db()
    assert live.state == State.ENDED
    assert live.end_reason == LiveStream.EndReason.KEY_REVOKED


def test_a_creator_who_may_no_longer_go_live_is_refused_at_the_ingest():
    creator = host()
    _, plain = set_up(creator)
    enforce(action="suspend", target_type="user", target_id=creator.pk,
            policy="spam_scam", reason="test")
    refusal = _refused("account_restricted", key=plain)
    assert refusal.message == "Your account can't go live right now."


def test_a_reconnect_within_the_window_continues_the_same_live_once_announced():
    creator = host()
    live, plain = on_air(creator)
    assert OutboxTask.objects.filter(task="live.live_started_fan_out").count() == 1
    # a stale callback (another connection) changes nothing
    stale = publish_stopped(live_id=live.pk, publisher="rtmp:other")
    assert stale is not None
    assert stale.state == State.LIVE
    dropped = publish_stopped(live_id=live.pk, publisher="rtmp:1")
    assert dropped is not None
    assert dropped.state == State.RECONNECTING
    assert dropped.disconnected_at is not None
    assert dropped.publisher == ""
    timer = OutboxTask.objects.get(task="live.end_if_not_back")
    assert timer.args == [str(live.pk), dropped.disconnected_at.isoformat()]
    # still reconnecting: a chance for another encoder? no: the same key's owner only
    back = publish_started(key=plain, publisher="rtmp:2", protocol="rtmp")
    assert back.pk == live.pk
    assert back.state == State.LIVE
    assert back.disconnected_at is None
    assert back.started_at == live.started_at
    # the timer of the old disconnection finds the live back and leaves it alone
    assert lifecycle.end_if_not_back(live_id=live.pk,
                                     disconnected_at=timer.args[1]) is False
    # told once per live, not once per reconnect
    assert OutboxTask.objects.filter(task="live.live_started_fan_out").count() == 1


def test_the_window_timer_ends_a_live_whose_encoder_did_not_come_back():
    creator = host()
    live, plain = on_air(creator)
    dropped = publish_stopped(live_id=live.pk, publisher="rtmp:1")
    assert dropped is not None
    assert dropped.disconnected_at is not None
    stamp = dropped.disconnected_at.isoformat()
    # within the window: the task waits (re-sends itself), nothing ends
    assert tasks.end_if_not_back(str(live.pk), stamp) is False
    assert LiveStream.objects.get(pk=live.pk).state == State.RECONNECTING
    # past the window: ended; media coming back then is refused in words
    LiveStream.objects.filter(pk=live.pk).update(
        disconnected_at=timezone.now() - timedelta(seconds=31))
    stamp = LiveStream.objects.get(pk=live.pk).disconnected_at.isoformat()  # type: ignore[union-attr]
    assert tasks.end_if_not_back(str(live.pk), stamp) is True
    assert tasks.end_if_not_back(str(live.pk), stamp) is False  # idempotent
    ended = LiveStream.objects.get(pk=live.pk)
    assert ended.state == State.ENDED
    assert ended.end_reason == LiveStream.EndReason.DISCONNECTED
    _refused("no_live", key=plain)


def test_a_late_reconnect_past_the_window_is_refused_even_before_the_timer_ran():
    policy = LivePolicy.current()
    policy.reconnect_window_seconds = 5
    policy.save()
    creator = host()
    live, plain = on_air(creator)
    publish_stopped(live_id=live.pk, publisher="rtmp:1")
    LiveStream.objects.filter(pk=live.pk).update(
        disconnected_at=timezone.now() - timedelta(seconds=6))
    _refused("no_live", key=plain)
    assert LiveStream.objects.get(pk=live.pk).state == State.ENDED


def test_one_unended_live_per_host_and_the_end_is_idempotent():
    creator = host()
    live, _ = set_up(creator, title="First")
    again = live_create(creator, title="Renamed", audience="followers")
    assert again.pk == live.pk
    assert again.title == "Renamed"
    publish_started(key=key_create(creator)[1], publisher="rtmp:1", protocol="rtmp")
    with pytest.raises(ConflictError) as caught:
        live_create(creator, title="Second", audience="everyone")
    assert caught.value.message == ("You are already live. End that live before you set up "
                                    "another.")
    media = control.live_dir(live.pk)
    media.mkdir(parents=True)
    ended = live_end(live, reason=LiveStream.EndReason.HOST, by=creator)
    assert (media / ENDED_MARKER).exists()  # the ingest was told (ENDLIST)
    assert ended.state == State.ENDED
    assert ended.ended_at is not None
    assert live_end(live, reason=LiveStream.EndReason.MODERATOR).end_reason == "host"
    assert live_create(creator, title="Next", audience="everyone").pk != live.pk


def test_the_sweep_ends_lost_reconnects_and_setups_no_media_reached():
    creator, other = host(), host()
    live, _ = on_air(creator)
    publish_stopped(live_id=live.pk, publisher="rtmp:1")
    LiveStream.objects.filter(pk=live.pk).update(
        disconnected_at=timezone.now() - timedelta(minutes=5))
    waiting, _ = set_up(other)
    LiveStream.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - timedelta(hours=13))
    assert tasks.sweep() == 2
    assert LiveStream.objects.get(pk=live.pk).end_reason == "disconnected"
    assert LiveStream.objects.get(pk=waiting.pk).end_reason == "never_started"
    assert tasks.sweep() == 0


def test_minors_cannot_get_a_key_or_set_up_a_live():
    minor = host(date_of_birth=timezone.localdate() - timedelta(days=365 * 16))
    with pytest.raises(ApplicationError) as caught:
        key_create(minor)
    assert caught.value.status_code == 403
    assert caught.value.message == "Going live is for people 18 and over."
    with pytest.raises(ApplicationError):
        live_create(minor, title="x", audience="everyone")
