"""Read several ffmpeg outputs (one pipe per rendition) into their packagers, in one thread."""

from __future__ import annotations

import logging
import os
import selectors

from apps.live.llhls.packager import Packager

logger = logging.getLogger(__name__)


def pump(streams: dict[int, Packager], *, ended_on_eof: bool = False) -> None:
    """Feed each readable file descriptor's bytes to its packager until every one reaches
    end of file (ffmpeg exited), then close the packagers (`ended_on_eof`: for good, with
    EXT-X-ENDLIST; otherwise the playlists wait for a reconnect). A packager that fails
    (a stream it cannot read) is closed and its pipe drained, so ffmpeg is never blocked."""
    selector = selectors.DefaultSelector()
    for fd in streams:
        os.set_blocking(fd, False)
        selector.register(fd, selectors.EVENT_READ)
    broken: set[int] = set()
    try:
        while selector.get_map():
            for key, _ in selector.select():
                fd = int(key.fd)
                try:
                    data = os.read(fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not data:
                    selector.unregister(fd)
                    continue
                if fd in broken:
                    continue
                try:
                    streams[fd].feed(data)
                except Exception:
                    logger.exception("llhls: packaging %s failed", streams[fd].out_dir)
                    broken.add(fd)
    finally:
        selector.close()
        for packager in streams.values():
            try:
                packager.close(ended=ended_on_eof)
            except Exception:
                logger.exception("llhls: closing %s failed", packager.out_dir)
