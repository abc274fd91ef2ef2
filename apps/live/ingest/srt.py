"""SRT ingest: the bundled ffmpeg's SRT listener, one publisher per process, relaying into
the RTMP server (so the key check, the transcoder and the recording are the RTMP path's).

ffmpeg's listener cannot ask Django about a caller (no stream-id callback), so each waiting
or on-air live gets its own listener on a port of `SWIPEME_LIVE_SRT_PORTS` with an SRT
passphrase (AES, checked in SRT's handshake: a wrong one never connects) derived from the
live and its host's current key: rotating or revoking the key changes it. The host reads
the URL (port and passphrase) on their live (`srt_url`). Once a caller's media arrives the
listener publishes `srt-<live id>-<signature>` to the local RTMP server, whose on_publish
callback starts the live with the host's key like an RTMP encoder's would. The listener is
started again when its caller goes (a reconnect within the window continues the live).
`Listeners` (run by `manage.py live_ingest`) keeps one per wanted live.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import logging
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from apps.accounts.models import User
from apps.live.models import LiveStream, StreamKey

logger = logging.getLogger("apps.live.ingest")

_RELAY = re.compile(r"^srt-([0-9]{1,20})-([0-9a-f]{16})$")
PORT_FILE = "srt.port"


def _mac(message: str) -> str:
    from apps.live.ingest.config import ingest_secret

    return hmac.new(ingest_secret().encode(), message.encode(), hashlib.sha256).hexdigest()


def relay_name(live_id: int) -> str:
    return f"srt-{live_id}-{_mac(f'srt-relay:{live_id}')[:16]}"


def relay_live_id(name: str) -> int | None:
    """The live of a relay's stream name (its signature checked), None for anything else."""
    match = _RELAY.match(name)
    if match is None:
        return None
    live_id = int(match.group(1))
    return live_id if hmac.compare_digest(relay_name(live_id), name) else None


def passphrase(live_id: int, key: StreamKey) -> str:
    return _mac(f"srt:{live_id}:{key.key_hash}")[:32]  # SRT takes 10 to 79 characters


def host_of(live_id: int) -> User | None:
    live = LiveStream.objects.filter(pk=live_id).select_related("host").first()
    return live.host if live is not None else None


def key_for_relay(live_id: int | None) -> StreamKey | None:
    """The key an SRT relay publishes with: its live's host's current one."""
    if live_id is None:
        return None
    host_id = LiveStream.objects.filter(pk=live_id).values_list("host_id", flat=True).first()
    if host_id is None:
        return None
    return (StreamKey.objects.filter(user_id=host_id, revoked_at__isnull=True)
            .select_related("user").first())


def _port_path(live_id: int) -> Path:
    return Path(settings.SWIPEME_LIVE_ROOT) / str(live_id) / PORT_FILE


def port_of(live_id: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(_port_path(live_id).read_text())
    return None


def srt_url(live: LiveStream) -> str | None:
    """What the host's SRT encoder calls for this live (None: no listener for it yet)."""
    port = port_of(live.pk)
    key = key_for_relay(live.pk)
    if port is None or key is None:
        return None
    host = urlsplit(str(settings.SWIPEME_LIVE_SRT_URL)).hostname or "localhost"
    return f"srt://{host}:{port}?passphrase={passphrase(live.pk, key)}&pbkeylen=16"


def wanted() -> dict[int, str]:
    """The lives that need a listener (set up, on air or reconnecting, with a key): their
    passphrases."""
    lives = (LiveStream.objects.exclude(state=LiveStream.State.ENDED)
             .values_list("pk", "host_id"))
    hosts = {host_id for _, host_id in lives}
    keys = {k.user_id: k for k in StreamKey.objects.filter(user_id__in=hosts,
                                                          revoked_at__isnull=True)}
    return {pk: passphrase(pk, keys[host_id]) for pk, host_id in lives if host_id in keys}


@dataclass
class _Listener:
    live_id: int
    port: int
    secret: str
    proc: subprocess.Popen[bytes]


@dataclass
class Listeners:
    """One ffmpeg SRT listener per wanted live (`reconcile` once a second)."""

    bind: str
    ports: tuple[int, int]
    rtmp_local: str
    log_dir: Path
    running: dict[int, _Listener] = field(default_factory=dict)

    def _free_port(self) -> int | None:
        used = {listener.port for listener in self.running.values()}
        for port in range(self.ports[0], self.ports[1] + 1):
            if port not in used:
                return port
        return None

    def _start(self, live_id: int, secret: str, port: int) -> None:
        from apps.media.transcode import ffmpeg_exe

        source = (f"srt://{self.bind}:{port}?mode=listener&passphrase={secret}"
                  "&pbkeylen=16&latency=200000&listen_timeout=-1")
        argv = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "warning",
                "-i", source, "-map", "0", "-c", "copy", "-f", "flv",
                f"{self.rtmp_local}/{relay_name(live_id)}"]
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"srt-{live_id}.log", "ab") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self.running[live_id] = _Listener(live_id, port, secret, proc)
        path = _port_path(live_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(port))

    def _stop(self, live_id: int) -> None:
        listener = self.running.pop(live_id)
        if listener.proc.poll() is None:
            listener.proc.terminate()
            try:
                listener.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                listener.proc.kill()
                listener.proc.wait()
        _port_path(live_id).unlink(missing_ok=True)

    def reconcile(self, want: dict[int, str]) -> None:
        for live_id in list(self.running):
            listener = self.running[live_id]
            if live_id not in want or want[live_id] != listener.secret:
                self._stop(live_id)
            elif listener.proc.poll() is not None:  # its caller went: listen again
                self.running.pop(live_id)
                self._start(live_id, listener.secret, listener.port)
        for live_id, secret in want.items():
            if live_id in self.running:
                continue
            free = self._free_port()
            if free is None:
                logger.warning("live ingest: no free SRT port for live %s", live_id)
                continue
            self._start(live_id, secret, free)

    def stop_all(self) -> None:
        for live_id in list(self.running):
            self._stop(live_id)
