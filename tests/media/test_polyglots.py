"""Polyglots: a real clip (ffmpeg) with an archive, a program or a script tucked into
boxes that are not media — a `free` box followed by another box (the end of the file
looks clean), a `uuid` box, `udta` inside `moov`, `skip` — uploaded over tus and
validated as the worker does: each is refused with what it hides. Bytes hidden where
the box walk cannot see them (inside `mdat`, where no sample points) pass validation but
do not survive: the source we keep is a fresh container with only the streams. And a
`moov` whose size lies is called inconsistent, not truncated."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import av
import pytest
from rest_framework.test import APIClient

from apps.media import services, storage
from apps.media.models import MediaAsset
from tests.factories import UserFactory
from tests.media.conftest import upload_file

pytestmark = pytest.mark.django_db


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.sh", "#!/bin/sh\necho owned\n" * 20)
    return buffer.getvalue()


def _pe() -> bytes:
    dos = b"MZ" + b"\x90" * 58 + struct.pack("<I", 0x80)
    return dos + b"\0" * (0x80 - len(dos)) + b"PE\0\0" + b"\x4c\x01" + b"\0" * 200


def _elf() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\0" * 57


def _top_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    boxes, offset = [], 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        boxes.append((kind, offset, size))
        offset += size
    return boxes


def _inside(data: bytes, kind: bytes, extra: bytes) -> bytes:
    """`extra` appended inside the top-level box `kind` (whose size grows to match); the
    clip has ftyp, free, mdat, moov in that order, so the sample offsets stay right."""
    for box_kind, start, size in _top_boxes(data):
        if box_kind == kind:
            end = start + size
            grown = struct.pack(">I", size + len(extra)) + data[start + 4:end] + extra
            return data[:start] + grown + data[end:]
    raise AssertionError(f"no {kind!r} box")


@pytest.fixture(scope="module")
def clip(clips: dict[str, Path]) -> bytes:
    data = clips["vertical"].read_bytes()
    assert [kind for kind, _, _ in _top_boxes(data)][-2:] == [b"mdat", b"moov"]
    return data


def _validate(tmp_path: Path, data: bytes) -> MediaAsset:
    """Uploaded over tus by its owner, then validated as the worker's task does."""
    client = APIClient()
    client.force_authenticate(UserFactory())
    path = tmp_path / "upload.mp4"
    path.write_bytes(data)
    asset_id = int(upload_file(client, path))
    services.asset_process(asset_id=asset_id, task_id="t")
    return MediaAsset.objects.get(pk=asset_id)


@pytest.mark.parametrize(("case", "word"), [
    ("zip in a free box followed by another box", "archive (zip)"),
    ("windows program in a uuid box", "executable (windows pe)"),
    ("elf program in a skip box", "executable (elf)"),
    ("script in moov's udta", "script"),
    ("zip in moov's udta", "archive (zip)"),
    ("pdf in a top-level udta", "pdf"),
])
def test_files_hidden_in_boxes_are_refused_with_what_they_hide(tmp_path, clip, case, word):
    crafted = {
        "zip in a free box followed by another box":
            clip + _box(b"free", _zip()) + _box(b"free", b"\0" * 8),
        "windows program in a uuid box": clip + _box(b"uuid", b"\x11" * 16 + _pe()),
        "elf program in a skip box": clip + _box(b"skip", b"\0" * 32 + _elf()),
        "script in moov's udta":
            _inside(clip, b"moov", _box(b"udta", _box(b"\xa9cmt", b"#!/bin/sh\nrm -rf /\n"))),
        "zip in moov's udta": _inside(clip, b"moov", _box(b"udta", _box(b"XTRA", _zip())))
            + _box(b"free", b"\0" * 8),
        "pdf in a top-level udta": clip + _box(b"udta", _box(b"meta", b"%PDF-1.7\n%\xe2\xe3")),
    }[case]
    asset = _validate(tmp_path, crafted)
    assert asset.state == "rejected", case
    assert "polyglot" in asset.state_reason
    assert word in asset.state_reason.lower(), asset.state_reason
    assert not storage.source_path(asset.pk).exists()


def test_a_clean_clip_with_ordinary_boxes_passes_and_is_kept_as_a_fresh_container(
        tmp_path, clip):
    padded = clip + _box(b"free", b"\0" * 4096)
    asset = _validate(tmp_path, padded)
    assert asset.state == "processing", asset.state_reason
    kept = storage.source_path(asset.pk).read_bytes()
    assert b"free" not in [kind for kind, _, _ in _top_boxes(kept)][2:]  # the padding is gone
    with av.open(str(storage.source_path(asset.pk))) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio
    assert asset.probe["duration_s"] == pytest.approx(2.5, abs=0.1)
    storage.remove_asset_files(asset.pk)


def test_an_archive_hidden_in_mdat_does_not_survive_in_the_kept_source(tmp_path, clip):
    # past the last sample, inside mdat: no box walk can tell it from media
    crafted = _inside(clip, b"mdat", _zip())
    assert b"PK\x03\x04" in crafted
    asset = _validate(tmp_path, crafted)
    assert asset.state == "processing", asset.state_reason
    kept = storage.source_path(asset.pk).read_bytes()
    assert b"PK\x03\x04" not in kept
    assert b"PK\x05\x06" not in kept
    assert not zipfile.is_zipfile(io.BytesIO(kept))
    storage.remove_asset_files(asset.pk)


def test_a_moov_whose_size_lies_is_called_inconsistent_not_truncated(tmp_path, clip):
    kind, start, size = _top_boxes(clip)[-1]
    assert kind == b"moov"
    lying = clip[:start] + struct.pack(">I", size + 5000) + clip[start + 4:]
    asset = _validate(tmp_path, lying)
    assert asset.state == "rejected"
    assert "inconsistent" in asset.state_reason
    assert "corrupt" in asset.state_reason
    assert "truncated" not in asset.state_reason
    # a file really cut short is still called truncated
    asset = _validate(tmp_path, clip[: len(clip) - 500])
    assert asset.state == "rejected"
    assert "truncated" in asset.state_reason
