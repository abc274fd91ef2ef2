"""The replay: after the live, if the host chose it, the recording becomes a post through
the VOD pipeline (`media.services.asset_create_from_file`, then `content.services.
post_create`, as the studio's renders do), so it is checked, transcoded and published like
any upload. A failure reaches the host in words (a `live_replay` notification).

The ingest records each connection's source as `<live root>/<id>/recording/<n>.ts`; the
parts are joined (ffmpeg's concat demuxer: each part's timestamps follow the previous
part's) and remuxed into MP4, streams copied (no encode).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction

from apps.content.models import Post
from apps.content.services import post_create
from apps.core.errors import ApplicationError
from apps.live.models import LiveStream
from apps.media import services as media_services
from apps.media.transcode import ToolFailed, run_ffmpeg

logger = logging.getLogger(__name__)

REPLAY_FAILED = "We couldn't save the replay of your live “{title}”: {why}"


def recording_parts(live_id: int) -> list[Path]:
    folder = Path(settings.SWIPEME_LIVE_ROOT) / str(live_id) / "recording"
    return sorted(p for p in folder.glob("*.ts") if p.is_file() and p.stat().st_size > 0)


def _remux(parts: list[Path], out: Path) -> None:
    listing = out.with_suffix(".txt")
    listing.write_text("".join(f"file '{p.as_posix()}'\n" for p in parts))
    run_ffmpeg(["-f", "concat", "-safe", "0", "-i", str(listing), "-map", "0:v:0",
                "-map", "0:a:0?", "-c", "copy", "-bsf:a", "aac_adtstoasc",
                "-movflags", "+faststart", str(out)])


def _visibility(live: LiveStream) -> str:
    # a followers-only live's replay is never shown wider: followers who follow back
    return (Post.Visibility.PUBLIC if live.audience == LiveStream.Audience.EVERYONE
            else Post.Visibility.FRIENDS)


def make_replay(live_id: int) -> int | None:
    """The replay post's id (made now, or already), or None when there is nothing to
    make or it failed (the host is told why). Safe to run twice: the live's row lock and
    `replay_post` let one run make the post."""
    live = LiveStream.objects.select_related("host").filter(pk=live_id).first()
    if live is None or live.state != LiveStream.State.ENDED or not live.save_replay:
        return None
    if live.replay_post_id is not None:
        return live.replay_post_id
    parts = recording_parts(live_id)
    if not parts:
        _failed(live, "no recording of it was kept.")
        return None
    with tempfile.TemporaryDirectory(prefix="live-replay-") as tmp:
        out = Path(tmp) / "replay.mp4"
        try:
            _remux(parts, out)
        except ToolFailed as exc:
            logger.warning("live %s: replay remux failed: %s", live_id, exc.log_tail[-500:])
            _failed(live, "its recording could not be read.")
            return None
        failure = ""
        with transaction.atomic():
            locked = LiveStream.objects.select_for_update().get(pk=live_id)
            if locked.replay_post_id is not None or not locked.save_replay:
                return locked.replay_post_id
            asset = media_services.asset_create_from_file(owner_id=live.host_id, path=out)
            try:
                post = post_create(author=live.host, asset_id=asset.pk,
                                   caption=f"Replay: {live.title}",
                                   visibility=_visibility(live))
            except ApplicationError as exc:  # e.g. the host may no longer post
                transaction.set_rollback(True)
                failure = exc.message
            else:
                locked.replay_post = post
                locked.save(update_fields=["replay_post"])
    if failure:
        _failed(live, failure)
        return None
    return post.pk


def _failed(live: LiveStream, why: str) -> None:
    from apps.live import notices

    notices.replay_failed(live, REPLAY_FAILED.format(title=live.title, why=why))
