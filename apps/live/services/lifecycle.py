"""A live's life: set up (`live_create`) -> media arrives (`publish_started`: live) ->
the connection drops (`publish_stopped`: reconnecting; back within the window, the same
live continues) -> ended (`live_end`: by the host, a moderator, a revoked key, or the
encoder not coming back) -> the replay if the host chose one (`replay_choose`).

Every transition locks the live's row (select_for_update) in a transaction, so the ingest's
callbacks, the host's buttons and the timers never interleave.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import ConflictError
from apps.core.outbox import enqueue_on_commit
from apps.live import selectors
from apps.live.eligibility import go_live_refusal, require
from apps.live.models import LivePolicy, LiveStream, StreamKey
from apps.live.services.keys import _lock_owner, key_lookup
from apps.social.models import Follow

logger = logging.getLogger(__name__)

ON_AIR = (LiveStream.State.LIVE, LiveStream.State.RECONNECTING)
ON_AIR_CACHE_SECONDS = 600  # the sweep rewrites it every minute


class IngestRefused(Exception):  # noqa: N818 - the ingest's "no", not a programming error
    """The ingest must refuse this publisher: `code` is stable, `message` is for logs and
    the encoder's error (never contains the key)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _locked(live_id: int) -> LiveStream:
    return LiveStream.objects.select_for_update().get(pk=live_id)


# --- set up -----------------------------------------------------------------------------


def live_create(host: User, *, title: str, audience: str,
                cover: File[bytes] | None = None) -> LiveStream:
    """Set up a live (waiting for the encoder). A host has one unended live: setting up
    again while one waits answers that one with the new title, audience and cover; while
    one is on air, a 409 in words."""
    require(go_live_refusal(host))
    with transaction.atomic():
        _lock_owner(host.pk)
        live = (LiveStream.objects.select_for_update()
                .filter(host_id=host.pk).exclude(state=LiveStream.State.ENDED).first())
        if live is not None and live.state != LiveStream.State.CREATED:
            raise ConflictError("You are already live. End that live before you set up "
                                "another.", code="already_live")
        if live is None:
            live = LiveStream(host_id=host.pk)
        live.title = title
        live.audience = audience
        if cover is not None:
            live.cover = cover
        try:
            with transaction.atomic():
                live.save()
        except IntegrityError as exc:  # pragma: no cover - _lock_owner serialises creates
            raise ConflictError("You already have a live set up.",
                                code="already_live") from exc
    return live


def live_update(live: LiveStream, *, title: str | None = None,
                audience: str | None = None) -> LiveStream:
    """The host changes the title or the audience (before or during the live)."""
    with transaction.atomic():
        live = _locked(live.pk)
        if live.state == LiveStream.State.ENDED:
            raise ConflictError("This live has ended.", code="live_ended")
        fields = []
        if title is not None:
            live.title = title
            fields.append("title")
        if audience is not None:
            live.audience = audience
            fields.append("audience")
        if fields:
            live.save(update_fields=fields)
    return live


# --- the ingest's callbacks -------------------------------------------------------------


def _window(policy: LivePolicy | None = None) -> timedelta:
    return timedelta(seconds=(policy or LivePolicy.current()).reconnect_window_seconds)


def publish_started(*, key: str | StreamKey, publisher: str, protocol: str) -> LiveStream:
    """An encoder connected with `key`: the live it may publish (now live), or
    `IngestRefused` (unknown or revoked key, a creator who may not go live now, no live set
    up, a second publisher while one is on air). Media back within the reconnect window
    continues the same live."""
    # the SRT relay never knows the plain key: it passes the host's key row (ingest.srt)
    stream_key = key if isinstance(key, StreamKey) else key_lookup(key)
    if stream_key is None:
        raise IngestRefused("unknown_key", "This stream key does not exist.")
    if stream_key.revoked_at is not None:
        raise IngestRefused("key_revoked", "This stream key was revoked. Make a new one in "
                            "the studio.")
    refusal = go_live_refusal(stream_key.user)
    if refusal is not None:
        raise IngestRefused(refusal.code, refusal.message)
    now = timezone.now()
    late = False
    with transaction.atomic():
        live = (LiveStream.objects.select_for_update()
                .filter(host_id=stream_key.user_id).exclude(state=LiveStream.State.ENDED)
                .first())
        if live is None:
            raise IngestRefused("no_live", "Set up a live in the studio before you start "
                                "streaming.")
        if live.state == LiveStream.State.LIVE:
            if live.publisher != publisher:
                raise IngestRefused("already_publishing", "Another encoder is already "
                                    "streaming with this key.")
            return live  # the same connection told twice
        if live.state == LiveStream.State.RECONNECTING and (
                live.disconnected_at is None or now > live.disconnected_at + _window()):
            # back too late (before the timer ran): the end commits, then the refusal
            _end_locked(live, reason=LiveStream.EndReason.DISCONNECTED, by=None)
            late = True
        else:
            _go_live(live, stream_key, publisher=publisher, protocol=protocol, now=now)
    if late:
        raise IngestRefused("no_live", "That live has ended. Set up a new one in the studio.")
    return live


def _go_live(live: LiveStream, stream_key: StreamKey, *, publisher: str, protocol: str,
             now: datetime) -> None:
    """Created -> live (the start: told to followers once) or reconnecting -> live (the
    same live continues)."""
    start = live.state == LiveStream.State.CREATED
    if start:
        live.started_at = now
    live.state = LiveStream.State.LIVE
    live.disconnected_at = None
    live.publisher = publisher[:64]
    live.protocol = protocol[:8]
    live.key_id = stream_key.pk
    live.save(update_fields=["state", "started_at", "disconnected_at", "publisher",
                             "protocol", "key"])
    stream_key.last_used_at = now
    stream_key.save(update_fields=["last_used_at"])
    if start:
        from apps.live import tasks

        enqueue_on_commit(tasks.live_started_fan_out, str(live.pk))
    transaction.on_commit(refresh_on_air_cache, robust=True)


def publish_stopped(*, live_id: int, publisher: str) -> LiveStream | None:
    """The encoder's connection closed: the live waits for it (reconnecting) and ends if it
    is not back within the window. A stale callback (another publisher's, or one for an
    ended live) changes nothing."""
    with transaction.atomic():
        live = LiveStream.objects.select_for_update().filter(pk=live_id).first()
        if live is None or live.state != LiveStream.State.LIVE or live.publisher != publisher:
            return live
        live.state = LiveStream.State.RECONNECTING
        live.disconnected_at = timezone.now()
        live.publisher = ""
        live.save(update_fields=["state", "disconnected_at", "publisher"])
        from apps.live import tasks

        enqueue_on_commit(tasks.end_if_not_back, str(live.pk),
                          live.disconnected_at.isoformat())
    return live


def end_if_not_back(*, live_id: int, disconnected_at: str) -> bool:
    """The reconnect window's timer: end the live if it is still waiting for the same
    disconnection. True when it ended it."""
    with transaction.atomic():
        live = LiveStream.objects.select_for_update().filter(pk=live_id).first()
        if (live is None or live.state != LiveStream.State.RECONNECTING
                or live.disconnected_at is None
                or live.disconnected_at.isoformat() != disconnected_at):
            return False
        if timezone.now() < live.disconnected_at + _window():
            return False
        _end_locked(live, reason=LiveStream.EndReason.DISCONNECTED, by=None)
    return True


def refresh_on_air_cache() -> None:
    """Rewrite the ring's cache of who is on air from the table (after a start or an end
    commits, and by the sweep: a write that raced another is set right within a minute)."""
    cache.set(selectors.ON_AIR_CACHE_KEY, selectors.on_air_hosts_now(),
              timeout=ON_AIR_CACHE_SECONDS)


# --- the end ----------------------------------------------------------------------------


def _end_locked(live: LiveStream, *, reason: str, by: User | None) -> None:
    now = timezone.now()
    live.state = LiveStream.State.ENDED
    live.ended_at = now
    live.end_reason = reason
    live.publisher = ""
    if live.started_at is None and reason == LiveStream.EndReason.DISCONNECTED:
        live.end_reason = LiveStream.EndReason.NEVER_STARTED
    if live.started_at is not None:  # the stats the chat did not keep (H4 keeps viewers)
        live.new_followers = Follow.objects.filter(
            followee_id=live.host_id, created_at__gte=live.started_at,
            created_at__lte=now).count()
    live.save(update_fields=["state", "ended_at", "end_reason", "publisher",
                             "new_followers"])
    live_id = live.pk
    transaction.on_commit(lambda: _after_end(live_id), robust=True)
    transaction.on_commit(refresh_on_air_cache, robust=True)
    if live.save_replay and live.started_at is not None:
        from apps.live import tasks

        enqueue_on_commit(tasks.make_replay, str(live.pk))


def _after_end(live_id: int) -> None:
    """Drop the publisher (the ingest: ENDLIST on the playlists too) and tell the room (the
    chat: its stats written, every socket told and closed). Best effort, each on its own:
    the live is ended either way, and the ingest refuses the key's media from now on."""
    from apps.live.chat import broadcast
    from apps.live.ingest import control

    for step in (control.kick, broadcast.live_ended):
        try:
            step(live_id)
        except Exception:
            logger.exception("live %s: %s failed after the end", live_id, step.__qualname__)


def live_end(live: LiveStream, *, reason: str, by: User | None = None) -> LiveStream:
    """End the live (idempotent: an ended live is answered as it is)."""
    with transaction.atomic():
        live = _locked(live.pk)
        if live.state != LiveStream.State.ENDED:
            _end_locked(live, reason=reason, by=by)
    return live


# --- the replay -------------------------------------------------------------------------


def replay_choose(live: LiveStream, *, save: bool) -> LiveStream:
    """The host chooses whether the recording becomes a replay post (before the end or
    after it; once made, the post is the host's to delete like any other)."""
    with transaction.atomic():
        live = _locked(live.pk)
        if save and live.state == LiveStream.State.ENDED and live.started_at is None:
            raise ConflictError("No video arrived during this live, so there is nothing to "
                                "save.", code="nothing_recorded")
        if live.replay_post_id is not None:
            raise ConflictError("The replay is already saved as a post.",
                                code="replay_exists")
        live.save_replay = save
        live.save(update_fields=["save_replay"])
        if save and live.state == LiveStream.State.ENDED:
            from apps.live import tasks

            enqueue_on_commit(tasks.make_replay, str(live.pk))
    return live


def sweep_stale(*, now: datetime | None = None) -> int:
    """End lives still reconnecting past the window (their timer was lost) and set-ups that
    waited `SWIPEME_LIVE_SETUP_TTL` with no media. Each in its own lock; answers how many."""
    now = now or timezone.now()
    window = _window()
    stale = list(
        LiveStream.objects.filter(state=LiveStream.State.RECONNECTING,
                                  disconnected_at__lt=now - window)
        .values_list("pk", flat=True)[:500])
    never = list(
        LiveStream.objects.filter(state=LiveStream.State.CREATED,
                                  created_at__lt=now - settings.SWIPEME_LIVE_SETUP_TTL)
        .values_list("pk", flat=True)[:500])
    refresh_on_air_cache()
    ended = 0
    for live_id, reason in ([(pk, LiveStream.EndReason.DISCONNECTED) for pk in stale]
                            + [(pk, LiveStream.EndReason.NEVER_STARTED) for pk in never]):
        with transaction.atomic():
            live = LiveStream.objects.select_for_update().filter(pk=live_id).first()
            if live is None or live.state == LiveStream.State.ENDED:
                continue
            if live.state == LiveStream.State.RECONNECTING and (
                    live.disconnected_at is None or live.disconnected_at >= now - window):
                continue  # came back (and dropped again) since the read
            if live.state == LiveStream.State.LIVE:
                continue
            if live.state == LiveStream.State.CREATED and reason != \
                    LiveStream.EndReason.NEVER_STARTED:
                continue
            _end_locked(live, reason=reason, by=None)
            ended += 1
    return ended
