"""The malware scan speaks clamd's INSTREAM protocol. Every test runs twice: against a
REAL ClamAV daemon (Debian's clamav-daemon, which `make setup` installs when it is
missing) started here on a loopback port with a project-made signature database — one
.ndb body signature for the EICAR test string, no freshclam, no official database — and
against a small stand-in that serves the same protocol with the same signature (for a
machine without clamd)."""

from __future__ import annotations

import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.media import services, storage
from apps.media.models import MediaAsset
from apps.media.probe import probe_file
from tests.factories import UserFactory
from tests.media.conftest import make_clip

# the EICAR test file (split so this source file is not itself flagged)
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
SIGNATURES = {"SwipeMe.Test.EICAR": EICAR}  # name -> body, like a .ndb line


def _serve_clamd(server: socket.socket) -> None:
    while True:
        try:
            conn, _ = server.accept()
        except OSError:
            return
        with conn:
            command = b""
            while not command.endswith(b"\0"):
                command += conn.recv(1)
            assert command == b"zINSTREAM\0"
            data = b""
            while True:
                header = b""
                while len(header) < 4:
                    header += conn.recv(4 - len(header))
                (size,) = struct.unpack(">I", header)
                if size == 0:
                    break
                chunk = b""
                while len(chunk) < size:
                    chunk += conn.recv(size - len(chunk))
                data += chunk
            found = [name for name, body in SIGNATURES.items() if body in data]
            conn.sendall(f"stream: {found[0]} FOUND\0".encode() if found else b"stream: OK\0")


def _stand_in() -> Iterator[str]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    thread = threading.Thread(target=_serve_clamd, args=(server,), daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    server.close()


def _ping(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            sock.sendall(b"zPING\0")
            return sock.recv(16).startswith(b"PONG")
    except OSError:
        return False


def _real_clamd(base: Path) -> Iterator[str]:
    exe = shutil.which("clamd") or next(
        (p for p in ("/usr/sbin/clamd", "/usr/bin/clamd") if Path(p).exists()), None)
    if exe is None:
        pytest.skip("no clamd here (make setup installs Debian's clamav-daemon)")
    (base / "db").mkdir()
    # a ClamAV extended body signature: name, any target type, any offset, hex body
    (base / "db" / "swipeme-test.ndb").write_text(
        "".join(f"{name}:0:*:{body.hex()}\n" for name, body in SIGNATURES.items()))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = base / "clamd.conf"
    config.write_text(
        f"TCPSocket {port}\nTCPAddr 127.0.0.1\nDatabaseDirectory {base / 'db'}\n"
        f"Foreground yes\nLogFile {base / 'clamd.log'}\nPidFile {base / 'clamd.pid'}\n"
        f"TemporaryDirectory {base}\nMaxThreads 2\nSelfCheck 0\n"
        "StreamMaxLength 100M\n")
    proc = subprocess.Popen([exe, "--config-file", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while not _ping(address):
            assert proc.poll() is None, (base / "clamd.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "clamd did not start"
            time.sleep(0.2)
        yield address
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module", params=["clamd", "stand-in"])
def clamd(request: pytest.FixtureRequest,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "clamd":
        yield from _real_clamd(tmp_path_factory.mktemp("clamd"))
    else:
        yield from _stand_in()


def _with_free_box(video: bytes, payload: bytes) -> bytes:
    """A structurally valid MP4 that carries `payload` in a top-level `free` box."""
    return video + struct.pack(">I4s", 8 + len(payload), b"free") + payload


def test_clean_files_pass_and_infected_ones_are_named(clamd, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", seconds=1.5).read_bytes()
    clean = tmp_path / "clean.mp4"
    clean.write_bytes(_with_free_box(clip, b"nothing to see"))
    assert probe_file(clean, clamd_address=clamd).video_codec == "h264"
    infected = tmp_path / "infected.mp4"
    infected.write_bytes(_with_free_box(clip, EICAR))
    assert probe_file(infected).video_codec == "h264"  # without a scan it would pass
    with pytest.raises(Exception, match=r"malware \(SwipeMe.Test.EICAR(.UNOFFICIAL)?\)"):
        probe_file(infected, clamd_address=clamd)


@pytest.mark.django_db
def test_an_infected_upload_is_rejected_and_a_dead_daemon_is_not_a_pass(clamd, settings,
                                                                       tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", seconds=1.5).read_bytes()
    asset = MediaAsset.objects.create(owner=UserFactory(), state="uploaded")
    storage.source_path(asset.pk).parent.mkdir(parents=True, exist_ok=True)
    storage.source_path(asset.pk).write_bytes(_with_free_box(clip, EICAR))

    settings.MEDIA_CLAMD_ADDRESS = "127.0.0.1:9"  # nothing listens: retried, not passed
    with pytest.raises(Exception, match="clamd"):
        services.asset_process(asset_id=asset.pk, task_id="t1")
    asset.refresh_from_db()
    assert asset.state == "validating"

    settings.MEDIA_CLAMD_ADDRESS = clamd
    assert services.asset_process(asset_id=asset.pk, task_id="t2") == "rejected"
    asset.refresh_from_db()
    assert asset.state == "rejected"
    # (a real clamd names a signature not from its official databases "….UNOFFICIAL")
    assert asset.state_reason.startswith("The file contains malware (SwipeMe.Test.EICAR")
    assert not storage.source_path(asset.pk).exists()
    storage.remove_asset_files(asset.pk)
