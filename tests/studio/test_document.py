"""The edit document's validation through the API: every refusal is a 400 `invalid_edit`
in the error shape, with the offending field's dotted path, before anything is stored or
any render is queued."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.models import OutboxTask
from apps.studio.models import Edit, EditVersion, Preview
from tests.content.factories import LibrarySoundFactory
from tests.factories import UserFactory
from tests.studio.conftest import make_sticker

pytestmark = pytest.mark.django_db


def doc(*clips: dict[str, Any], **rest: Any) -> dict[str, Any]:
    return {"document": {"version": 1, "clips": list(clips), **rest}}


def clip(asset: Any, in_ms: int = 0, out_ms: int = 2000, **rest: Any) -> dict[str, Any]:
    return {"asset_id": str(asset.pk), "in_ms": in_ms, "out_ms": out_ms, **rest}


def refused(response: Any, field: str) -> str:
    assert response.status_code == 400, response.content
    body = response.json()["error"]
    assert body["code"] == "invalid_edit", body
    assert field in body["fields"], body
    assert body["message"]
    return str(body["fields"][field][0])


def test_a_valid_document_comes_back_canonical_with_its_duration(auth_client, source):
    a, b = source("a"), source("b", hz=None)
    sticker = make_sticker()
    response = auth_client.post("/api/v1/studio/validate", doc(
        clip(a, 0, 2000, speed=2.0),
        clip(b, 500, 2000, speed=0.5, keep_pitch=False,
             transition={"kind": "fade", "duration_ms": 400}),
        filter={"preset": "warm", "saturation": 1.2},
        texts=[{"text": "Hi ☺ 😀", "start_ms": 0, "end_ms": 1000, "x": 0.5, "y": 0.2}],
        stickers=[{"sticker_id": str(sticker.pk), "start_ms": 100, "end_ms": 3000}],
        voice="robot", cover_ms=1500,
    ), format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    # 2000/2 + 1500/0.5 - 400
    assert body["duration_ms"] == 3600
    document = body["document"]
    assert document["clips"][0]["transition"] == {"kind": "cut", "duration_ms": 0}
    assert document["clips"][1]["asset_id"] == str(b.pk)
    assert document["filter"] == {"preset": "warm", "brightness": 0.0, "contrast": 1.0,
                                  "saturation": 1.2}
    assert document["texts"][0]["font"] == "sans-bold"
    assert document["stickers"][0]["sticker_id"] == str(sticker.pk)


@pytest.mark.parametrize(("change", "field"), [
    ({"clips": [{"in_ms": 0, "out_ms": 5000}]}, "clips.0.out_ms"),  # past the 2 s clip
    ({"clips": [{"in_ms": 1500, "out_ms": 1000}]}, "clips.0.out_ms"),
    ({"clips": [{"speed": 0.2}]}, "clips.0.speed"),
    ({"clips": [{"speed": 3.5}]}, "clips.0.speed"),
    ({"filter": {"preset": "sepia-deluxe"}}, "filter.preset"),
    ({"filter": {"brightness": 3}}, "filter.brightness"),
    ({"voice": "chipmunk"}, "voice"),
    ({"cover_ms": 2500}, "cover_ms"),
    ({"texts": [{"text": "late", "start_ms": 1000, "end_ms": 2500}]}, "texts.0.end_ms"),
    ({"texts": [{"text": "x", "start_ms": 0, "end_ms": 1000, "font": "comic-sans"}]},
     "texts.0.font"),
    ({"texts": [{"text": "x" * 100_000, "start_ms": 0, "end_ms": 1000}]}, "texts.0.text"),
    # neither DejaVu nor the colour emoji font has 中: refused rather than drawn as a box
    # (the 👋 is drawn in colour, apps.studio.textimage)
    ({"texts": [{"text": "hi 👋 中", "start_ms": 0, "end_ms": 1000}]}, "texts.0.text"),
    ({"texts": [{"text": "x", "start_ms": 0, "end_ms": 1000, "colour": "red"}]},
     "texts.0.colour"),
    ({"stickers": [{"sticker_id": "999999", "start_ms": 0, "end_ms": 1000}]},
     "stickers.0.sticker_id"),
    ({"chroma_key": {"colour": "#00ff00"}}, "chroma_key"),
    ({"version": 3}, "version"),  # 1 and 2 are read (2 adds `source`)
])
def test_out_of_range_or_unknown_values_are_refused(auth_client, source, change, field):
    asset = source()
    base: dict[str, Any] = {"version": 1, "clips": [clip(asset)]}
    for key, value in change.items():
        if key == "clips":
            base["clips"] = [{**base["clips"][0], **value[0]}]
        else:
            base[key] = value
    response = auth_client.post("/api/v1/studio/validate", {"document": base}, format="json")
    refused(response, field)


def test_someone_elses_upload_is_refused_like_a_missing_one(auth_client, source):
    mine = source()
    theirs = source("theirs")
    theirs.owner = UserFactory()
    theirs.save(update_fields=["owner"])
    other = refused(auth_client.post("/api/v1/studio/validate", doc(clip(theirs)),
                                     format="json"), "clips.0.asset_id")
    missing = refused(auth_client.post("/api/v1/studio/validate",
                                       doc({"asset_id": "123456789", "in_ms": 0,
                                            "out_ms": 100}), format="json"),
                      "clips.0.asset_id")
    assert other == missing == "Not one of your processed uploads."
    # and as a chroma key background
    refused(auth_client.post("/api/v1/studio/validate", doc(
        clip(mine), chroma_key={"background_asset_id": str(theirs.pk)}), format="json"),
        "chroma_key.background_asset_id")


def test_a_thousand_clips_are_refused_without_a_query_per_clip(auth_client, source):
    asset = source()
    clips = [clip(asset, 0, 1000)] * 1000
    with CaptureQueriesContext(connection) as queries:
        response = auth_client.post("/api/v1/studio/validate", doc(*clips), format="json")
    assert "no more than 100" in refused(response, "clips")
    assert len(queries) < 10


def test_ten_hours_of_timeline_are_refused(auth_client, source):
    asset = source()
    # the structural check (before the database): 60 clips of 10 minutes each
    clips = [{"asset_id": str(asset.pk), "in_ms": 0, "out_ms": 600_000}] * 60
    message = refused(auth_client.post("/api/v1/studio/validate", doc(*clips),
                                       format="json"), "clips")
    assert "at most 10 minutes" in message


def test_a_transition_longer_than_a_clip_and_on_the_first_clip(auth_client, source):
    asset = source()
    refused(auth_client.post("/api/v1/studio/validate", doc(
        clip(asset, 0, 300), clip(asset, 0, 2000, transition={"kind": "zoom",
                                                             "duration_ms": 500}),
    ), format="json"), "clips.1.transition.duration_ms")
    refused(auth_client.post("/api/v1/studio/validate", doc(
        clip(asset, transition={"kind": "fade", "duration_ms": 500})), format="json"),
        "clips.0.transition")


def test_inactive_stickers_and_unusable_sounds_are_refused(auth_client, source):
    asset = source()
    retired = make_sticker(active=False)
    refused(auth_client.post("/api/v1/studio/validate", doc(
        clip(asset), stickers=[{"sticker_id": str(retired.pk), "start_ms": 0,
                                "end_ms": 500}]), format="json"), "stickers.0.sticker_id")
    gone = LibrarySoundFactory(is_taken_down=True, muted_at=timezone.now())
    message = refused(auth_client.post("/api/v1/studio/validate", doc(
        clip(asset), sound={"sound_id": str(gone.pk)}), format="json"), "sound.sound_id")
    assert "no longer available" in message
    fine = LibrarySoundFactory()
    assert auth_client.post("/api/v1/studio/validate", doc(
        clip(asset), sound={"sound_id": str(fine.pk), "volume": 0.5}),
        format="json").status_code == 200


def test_refused_documents_store_and_queue_nothing(auth_client, source):
    asset = source()
    bad = doc(clip(asset, 0, 9000))
    for url in ("/api/v1/studio/edits", "/api/v1/studio/previews"):
        refused(auth_client.post(url, bad, format="json"), "clips.0.out_ms")
    assert not Edit.objects.exists()
    assert not Preview.objects.exists()
    assert not OutboxTask.objects.exists()
    refused(auth_client.post("/api/v1/studio/edits", {"nothing": 1}, format="json"), "document")


def test_previews_are_for_short_edits(auth_client, source):
    asset = source(seconds=30.0, hz=None)
    long = doc(*[clip(asset, 0, 30_000)] * 3)  # 90 s
    message = refused(auth_client.post("/api/v1/studio/previews", long, format="json"),
                      "clips")
    assert "at most 60 s" in message.lower()


@pytest.mark.django_db(transaction=True)
def test_drafts_change_in_place_and_a_rendered_version_makes_the_next(source):
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    asset = source()
    asset.owner = user
    asset.save(update_fields=["owner"])
    created = client.post("/api/v1/studio/edits", doc(clip(asset, 0, 1000)), format="json")
    assert created.status_code == 201, created.content
    edit_id = created.json()["id"]
    url = f"/api/v1/studio/edits/{edit_id}"

    # a draft keeps its one document, changed in place
    changed = client.put(url, doc(clip(asset, 0, 1500)), format="json")
    assert changed.status_code == 200, changed.content
    versions = changed.json()["versions"]
    assert [(v["number"], v["document"]["clips"][0]["out_ms"]) for v in versions] == [(1, 1500)]

    # once rendered (it may be a published post's video), a change is version 2
    EditVersion.objects.filter(edit_id=edit_id).update(state=EditVersion.State.RENDERED)
    again = client.put(url, doc(clip(asset, 500, 1500)), format="json")
    versions = again.json()["versions"]
    assert [(v["number"], v["state"], v["document"]["clips"][0]["in_ms"])
            for v in versions] == [(1, "rendered", 0), (2, "draft", 500)]
    # rendering the rendered version again is refused; others cannot see the edit
    EditVersion.objects.filter(edit_id=edit_id, number=2).update(
        state=EditVersion.State.RENDERED)
    conflict = client.post(f"{url}/render", format="json")
    assert conflict.status_code == 409
    assert conflict.json()["error"]["code"] == "edit_rendered"
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.get(url).status_code == 404
    assert stranger.put(url, doc(clip(asset)), format="json").status_code == 404
