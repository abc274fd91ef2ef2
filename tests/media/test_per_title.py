"""The per-title ladder (apps.media.per_title): the complexity probe is deterministic for a
clip, easy clips get lower caps (and a sparse one fewer rungs), and the plan chosen at
validation is the one every step reads."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from apps.media import per_title, services, storage, transcode
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.probe import ProbeResult, probe_file
from tests.factories import UserFactory
from tests.media.conftest import make_clip, upload_file


def test_the_probe_is_deterministic_and_easy_clips_get_lower_caps(tmp_path: Path) -> None:
    busy = make_clip(
        tmp_path / "busy.mp4",
        seconds=2.0,
        audio=False,
        extra_output=["-vf", "noise=alls=20:allf=t"],
    )
    still = make_clip(tmp_path / "still.mp4", seconds=2.0, audio=False, video_source="color")
    busy_probe, still_probe = probe_file(busy), probe_file(still)
    # the same clip measures the same, to the bit
    first = per_title.measure_complexity(busy, busy_probe)
    assert per_title.measure_complexity(busy, busy_probe) == first
    busy_plan = per_title.plan_for(busy, busy_probe)
    still_plan = per_title.plan_for(still, still_probe)
    assert busy_plan == per_title.title_plan(first)
    # noise is hard, a flat colour easy: full caps against the lowest factor and no 540
    assert busy_plan["factor"] == 1.0
    assert busy_plan["drop"] == []
    assert busy_plan["crf"] == transcode.CRF  # hard content: today's ladder exactly
    assert still_plan["factor"] == per_title.MIN_FACTOR
    assert still_plan["drop"] == [540]
    assert still_plan["crf"] == per_title.crf_for(0.0) > transcode.CRF

    # the encoder really got the clip's CRF: x264 writes its settings in the stream (an SEI
    # in the first segment), and the easy clip's rung is no larger than today's
    sizes: dict[str, int] = {}
    for label, chosen in (("today", None), ("titled", still_plan)):
        rung = transcode.plan_ladder(still_probe, chosen)[0]
        out = tmp_path / label
        out.mkdir()
        transcode.transcode_rendition(still, still_probe, rung, out, preset="veryfast")
        segment = (out / "seg_0000.m4s").read_bytes()
        assert f"crf={rung.crf}.0".encode() in segment
        sizes[label] = sum(f.stat().st_size for f in out.glob("seg_*.m4s"))
    assert sizes["titled"] <= sizes["today"]

    # applied to a 1080x1920 source: caps scaled, 540 left out, ends kept
    tall = dataclasses.replace(busy_probe, width=1080, height=1920)
    today = {r.short_edge: r for r in transcode.plan_ladder(tall)}
    plan = transcode.plan_ladder(tall, still_plan)
    assert [r.short_edge for r in plan] == [240, 360, 720, 1080]
    for rendition in plan:
        scaled = today[rendition.short_edge].video_kbps * per_title.MIN_FACTOR
        assert abs(rendition.video_kbps - scaled) <= 1
    assert transcode.plan_ladder(tall, busy_plan) == list(today.values())


@pytest.mark.django_db
def test_validation_keeps_the_plan_that_every_step_reads(
    clips, settings, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    settings.MEDIA_PER_TITLE_LADDER = True
    monkeypatch.setattr("apps.media.tasks.run_step.delay", lambda *a: None)
    client = APIClient()
    client.force_authenticate(UserFactory())
    asset_id = int(upload_file(client, clips["vertical"]))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_process(asset_id=asset_id, task_id="t") == "planned"
        asset = MediaAsset.objects.get(pk=asset_id)
        title = asset.probe["title"]
        assert title == per_title.plan_for(
            storage.source_path(asset_id), ProbeResult.from_json(asset.probe)
        )
        assert services.recipe.title_of(asset_id) == title
        lowest = transcode.plan_ladder(ProbeResult.from_json(asset.probe), title)[0]
        assert ProcessingStep.objects.filter(
            asset_id=asset_id, name=f"rendition-{lowest.short_edge}"
        ).exists()
    finally:
        storage.remove_asset_files(asset_id)
