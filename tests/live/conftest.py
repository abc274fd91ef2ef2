"""The live ingest for real, shared by the live tests (one per session: nginx-rtmp's start,
Django's callbacks and the SRT reconcile loop are the expensive part).

- `live_ingest` (session): `manage.py live_ingest` on free loopback ports, calling back the
  session's `live_asgi_server` (uvicorn on the test database); `Ingest.rtmp_url(key)`.
  Test modules elsewhere import it (`from tests.live.conftest import live_ingest, publish`);
  every copy shares the one ingest.
- `publish` (function): `publish(key_or_url, seconds=..., protocol="rtmp"|"srt", ...)`
  starts an ffmpeg encoder (lavfi test pattern + a tone, H.264/AAC) and answers its
  `Popen`; whatever a test leaves running is stopped after it.
- `wait_until(predicate, timeout, what)`: polls with a deadline (no sleeps in tests).

Tests that use them need `@pytest.mark.django_db(transaction=True)`: the web server and the
ingest are other processes, they only see committed rows.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, _free_port, _free_ports, _log_path, _subprocess_env


@dataclass(frozen=True)
class Ingest:
    rtmp_port: int
    control_port: int
    srt_ports: tuple[int, int]
    web: str  # the live ASGI server it calls back
    root: Path  # SWIPEME_LIVE_ROOT
    proc: subprocess.Popen[bytes]

    def rtmp_url(self, key: str) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/live/{key}"

    def live_dir(self, live_id: int) -> Path:
        return self.root / str(live_id)


def wait_until(predicate: Callable[[], Any], *, timeout: float = 30.0,
               what: str = "the condition") -> Any:
    """Poll `predicate` until it answers something truthy (answered) or time is up."""
    deadline = time.monotonic() + timeout
    while True:
        answer = predicate()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def _udp_range(count: int) -> tuple[int, int]:
    """`count` consecutive free UDP ports (the SRT listeners' range)."""
    for _ in range(50):
        base = _free_port()
        if base + count > 65535:
            continue
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sockets.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
        return base, base + count - 1
    raise RuntimeError("no free UDP port range for the SRT listeners")


def _port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


# One ingest per test process, however many modules import the fixture (a fixture imported
# into a test module is a fixture of that module: each copy would otherwise start its own
# nginx, and two ingests would share one live root). Counted, stopped by the last user.
_shared: dict[str, Any] = {"users": 0}


def _start(web: str) -> tuple[Ingest, Any]:
    from django.conf import settings

    (rtmp_port, control_port), srt_ports = _free_ports(2), _udp_range(4)
    log = open(_log_path("live-ingest"), "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "live_ingest", "--rtmp-bind", "127.0.0.1",
         "--rtmp-port", str(rtmp_port), "--control-port", str(control_port),
         "--srt-bind", "127.0.0.1", "--srt-ports", f"{srt_ports[0]}-{srt_ports[1]}",
         "--callback-url", web],
        env=_subprocess_env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    ingest = Ingest(rtmp_port, control_port, srt_ports, web,
                    Path(settings.SWIPEME_LIVE_ROOT), proc)
    try:
        # Django's start on a busy shared machine: minutes, not seconds, at worst
        wait_until(lambda: proc.poll() is not None or _port_open(rtmp_port), timeout=180,
                   what="the live ingest's RTMP port")
        if proc.poll() is not None:
            raise RuntimeError(f"live_ingest exited; see {_log_path('live-ingest')}")
    except BaseException:
        _stop(ingest, log)
        raise
    return ingest, log


def _stop(ingest: Ingest, log: Any) -> None:
    ingest.proc.terminate()
    try:
        ingest.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        ingest.proc.kill()
        ingest.proc.wait(timeout=10)
    log.close()


@pytest.fixture(scope="session")
def live_ingest(live_asgi_server: str) -> Iterator[Ingest]:
    from apps.live.ingest import config

    missing = config.available()
    if missing:
        pytest.skip(f"no live ingest here: {missing}")
    if not _shared["users"]:
        _shared["ingest"], _shared["log"] = _start(live_asgi_server)
    _shared["users"] += 1
    try:
        yield _shared["ingest"]
    finally:
        _shared["users"] -= 1
        if not _shared["users"]:
            _stop(_shared.pop("ingest"), _shared.pop("log"))


Publish = Callable[..., "subprocess.Popen[bytes]"]


@pytest.fixture
def publish(live_ingest: Ingest) -> Iterator[Publish]:
    from apps.media.transcode import ffmpeg_exe

    started: list[subprocess.Popen[bytes]] = []

    def start(key_or_url: str, *, seconds: float = 30, protocol: str = "rtmp",
              size: str = "854x480", fps: int = 15, audio: bool = True,
              video_filter: str | None = None) -> subprocess.Popen[bytes]:
        """An encoder publishing a test pattern (and a tone) for `seconds` in real time.
        `key_or_url`: a stream key (RTMP to the session's ingest) or a full rtmp:// or
        srt:// URL. `video_filter` is applied to the pattern (e.g. a drawn clock)."""
        if "://" in key_or_url:
            url = key_or_url
            protocol = url.split("://", 1)[0]
        else:
            url = live_ingest.rtmp_url(key_or_url)
        inputs = ["-re", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={fps}"]
        if audio:
            inputs += ["-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
        encode = ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                  "-g", str(fps * 2), "-pix_fmt", "yuv420p"]
        if video_filter:
            encode += ["-vf", video_filter]
        if audio:
            encode += ["-c:a", "aac", "-b:a", "64k"]
        muxer = ["-f", "flv"] if protocol == "rtmp" else ["-f", "mpegts"]
        proc = subprocess.Popen(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", *inputs,
             "-t", str(seconds), *encode, *muxer, url],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
