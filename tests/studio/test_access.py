"""The attacker sweep for the studio's and the caption editor's object endpoints: another
account gets the same 404 as for an id that does not exist, a signed-out client a 401,
both in the error shape, and neither changes anything of the owner's."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.media.models import CaptionTrack
from apps.studio.models import Edit, EditVersion, Preview
from tests.content.factories import MediaAssetFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MISSING = str(1 << 40)
VTT = b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nmine\n"


def _owner_objects() -> dict[str, Any]:
    owner = UserFactory()
    asset = MediaAssetFactory(owner=owner, duration_ms=15_000)
    document = {"version": 1, "clips": [{"asset_id": str(asset.pk), "in_ms": 0,
                                          "out_ms": 1000}]}
    edit = Edit.objects.create(owner=owner)
    EditVersion.objects.create(edit=edit, number=1, document=document)
    preview = Preview.objects.create(owner=owner, document=document)
    track = CaptionTrack.objects.create(
        asset=asset, language="en", source=CaptionTrack.Source.UPLOADED,
        state=CaptionTrack.State.READY, cues=[{"start_ms": 0, "end_ms": 900, "text": "mine"}])
    return {"owner": owner, "asset": asset, "edit": edit, "preview": preview,
            "track": track, "document": document}


def _calls(o: dict[str, Any], ids: dict[str, str]) -> list[tuple[str, str, Any]]:
    edit = f"/api/v1/studio/edits/{ids['edit']}"
    preview = f"/api/v1/studio/previews/{ids['preview']}"
    captions = f"/api/v1/media/assets/{ids['asset']}/captions"
    return [
        ("get", edit, None),
        ("put", edit, {"document": o["document"]}),
        ("post", f"{edit}/render", None),
        ("get", preview, None),
        ("get", f"{preview}/file", None),
        ("get", captions, None),
        ("post", captions, {"language": "en"}),
        ("get", f"{captions}/en", None),
        ("put", f"{captions}/en", "upload"),
        ("patch", f"{captions}/en", {"cues": [{"start_ms": 0, "end_ms": 500,
                                               "text": "theirs"}]}),
        ("delete", f"{captions}/en", None),
    ]


def _call(client: APIClient, method: str, url: str, data: Any) -> Any:
    if data == "upload":
        return client.put(url, {"file": SimpleUploadedFile("s.vtt", VTT, "text/vtt")},
                          format="multipart")
    return getattr(client, method)(url, data, format="json")


def _snapshot(o: dict[str, Any]) -> Any:
    return (list(EditVersion.objects.filter(edit=o["edit"]).values_list(
                "number", "state", "document")),
            Preview.objects.filter(pk=o["preview"].pk).values_list("state").first(),
            list(CaptionTrack.objects.filter(asset=o["asset"]).values_list(
                "language", "state", "cues", "version")))


def test_another_account_and_a_signed_out_client_reach_nothing() -> None:
    o = _owner_objects()
    before = _snapshot(o)
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    real = {"edit": str(o["edit"].pk), "preview": str(o["preview"].pk),
            "asset": str(o["asset"].pk)}
    missing = {"edit": MISSING, "preview": MISSING, "asset": MISSING}
    owner = APIClient()
    owner.force_authenticate(o["owner"])
    for method, url, _data in _calls(o, real):
        if method == "get" and not url.endswith("/file"):  # the ids are real: the owner's
            assert owner.get(url).status_code == 200, url
    for (method, url, data), (_m, missing_url, _d) in zip(
            _calls(o, real), _calls(o, missing), strict=True):
        absent = _call(stranger, method, missing_url, data)
        theirs = _call(stranger, method, url, data)
        assert theirs.status_code == 404, (method, url, theirs.status_code)
        assert absent.status_code == 404, (method, missing_url, absent.status_code)
        assert set(theirs.json()["error"]) == {"code", "message", "fields"}
        signed_out = _call(APIClient(), method, url, data)
        assert signed_out.status_code == 401, (method, url, signed_out.status_code)
        assert set(signed_out.json()["error"]) == {"code", "message", "fields"}
    assert _snapshot(o) == before
