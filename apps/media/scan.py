"""Malware scan over the ClamAV daemon's protocol (clamd INSTREAM), where one is
configured (`SWIPEME_MEDIA_CLAMD_ADDRESS`, host:port). An unreachable daemon is an error
(the step is retried), never a pass."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

CHUNK = 64 * 1024


class ScanUnavailableError(Exception):
    pass


def clamd_scan(path: Path, address: str, *, timeout: float = 30.0) -> str | None:
    """The signature name found in the file, or None when clean."""
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout) as sock:
            sock.sendall(b"zINSTREAM\0")
            with path.open("rb") as handle:
                while data := handle.read(CHUNK):
                    sock.sendall(struct.pack(">I", len(data)) + data)
            sock.sendall(struct.pack(">I", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                part = sock.recv(4096)
                if not part:
                    break
                reply += part
    except (OSError, ValueError) as exc:
        raise ScanUnavailableError(f"clamd at {address}: {exc}") from exc
    text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    if text.endswith("OK"):
        return None
    if text.endswith("FOUND"):
        return text.removeprefix("stream:").removesuffix("FOUND").strip()
    raise ScanUnavailableError(f"clamd at {address} answered {text!r}")
