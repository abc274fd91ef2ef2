"""The per-title ladder (apps.media.per_title): the complexity probe is deterministic for a
clip, easy clips get lower caps and a higher CRF (and a sparse one fewer rungs), a noisy
one loses its high rungs, every rung but the lowest (today's: it makes the asset playable
before the plan exists) gets the plan's x264 options, and the plan the `ladder` step makes
is the one every later step reads."""

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
    first = per_title.measure_sample(busy, busy_probe)
    assert per_title.measure_sample(busy, busy_probe) == first
    assert per_title.measure_complexity(busy, busy_probe) == first.bpp
    busy_plan = per_title.plan_for(busy, busy_probe)
    still_plan = per_title.plan_for(still, still_probe)
    assert busy_plan == per_title.title_plan(first.bpp, first.noise, first.effective)
    assert busy_plan["effective"] == [busy_probe.width, "native"]  # noise lives at 360
    assert busy_plan["top"] is None
    # noise is hard, a flat colour easy: full caps against the lowest factor and no 540
    assert busy_plan["factor"] == 1.0
    assert busy_plan["crf"] == transcode.CRF  # hard content: today's CRF and caps
    assert per_title.noisy(first.bpp, first.noise)
    assert busy_plan["drop"] == per_title.NOISY_DROP
    assert still_plan["factor"] == per_title.MIN_FACTOR
    assert still_plan["drop"] == [540]
    assert still_plan["crf"] == per_title.crf_for(0.0) > transcode.CRF
    assert busy_plan["preset"] == still_plan["preset"] == per_title.PRESET
    assert busy_plan["tune"] == still_plan["tune"] == per_title.TUNE
    # a clean moving picture (testsrc2 without noise) is not noise
    plain = make_clip(tmp_path / "plain.mp4", seconds=2.0, audio=False)
    plain_sample = per_title.measure_sample(plain, probe_file(plain))
    assert not per_title.noisy(plain_sample.bpp, plain_sample.noise)

    # the encoder really got the clip's CRF, preset and options: x264 writes its settings in
    # the stream (an SEI in the first segment)
    # (the highest rung: the lowest is today's whatever the plan, below; the still clip's
    # plan would cap it at its lowest rung, as a flat colour has no detail above 240)
    for label, chosen in (("today", None), ("titled", {**still_plan, "top": None})):
        rung = transcode.plan_ladder(still_probe, chosen)[-1]
        assert rung.short_edge == 360
        out = tmp_path / label
        out.mkdir()
        transcode.transcode_rendition(still, still_probe, rung, out, preset="veryfast")
        segment = (out / "seg_0000.m4s").read_bytes()
        assert f"crf={rung.crf}.0".encode() in segment
        # veryfast's subpixel refinement is 2, medium's 7; psy on and aq 1 unless tuned
        tuned = chosen is not None
        assert (b"subme=7" if tuned else b"subme=2") in segment
        assert (b" psy=0 " if tuned else b" psy=1 ") in segment
        assert (b" aq=3:" if tuned else b" aq=1:") in segment

    # applied to a 1080x1920 source: caps scaled, 540 left out, ends kept
    tall = dataclasses.replace(busy_probe, width=1080, height=1920)
    today = {r.short_edge: r for r in transcode.plan_ladder(tall)}
    plan = transcode.plan_ladder(tall, {**still_plan, "top": None})
    assert [r.short_edge for r in plan] == [240, 360, 720, 1080]
    # the lowest rung makes the asset playable before the plan exists: today's, exactly
    assert plan[0] == today[240]
    assert transcode.plan_ladder(tall, busy_plan)[0] == today[240]
    for rendition in plan[1:]:
        scaled = today[rendition.short_edge].video_kbps * per_title.MIN_FACTOR
        assert abs(rendition.video_kbps - scaled) <= 1
        assert (rendition.preset, rendition.tune) == (per_title.PRESET, per_title.TUNE)
    # the noisy clip: today's caps and CRF, without 540 and 1080 (720 on top)
    noisy = transcode.plan_ladder(tall, busy_plan)
    assert [r.short_edge for r in noisy] == [240, 360, 720]
    for rendition in noisy[:-1]:
        same = today[rendition.short_edge]
        assert (rendition.video_kbps, rendition.crf) == (same.video_kbps, same.crf)
    # ... but its highest rung two CRF higher (hard clip: the tuning's gain at the top)
    assert busy_plan["top_crf"] == noisy[-1].crf == transcode.CRF + per_title.TOP_CRF_STEP
    assert noisy[-1].video_kbps == today[720].video_kbps
    # an easy clip already has a higher CRF: the same on every rung
    assert still_plan["top_crf"] is None
    assert {r.crf for r in plan[1:]} == {still_plan["crf"]}
    # ... but a noisy 540 source keeps its top rung (nothing of 720 or more would be left)
    small = dataclasses.replace(busy_probe, width=540, height=960)
    assert [r.short_edge for r in transcode.plan_ladder(small, busy_plan)] == [240, 360, 540]


@pytest.mark.django_db
def test_the_ladder_step_makes_the_plan_that_every_later_step_reads(
    clips, settings, django_capture_on_commit_callbacks, monkeypatch
) -> None:
    """Validation plans the same steps with the flag on as off and makes no plan (its probe
    encode would delay the lowest rendition); the lowest rendition is today's; the `ladder`
    step makes the plan, keeps it in the asset's probe, and encodes its rungs with it."""
    settings.MEDIA_PER_TITLE_LADDER = True
    monkeypatch.setattr("apps.media.tasks.run_step.delay", lambda *a: None)
    client = APIClient()
    client.force_authenticate(UserFactory())
    asset_id = int(upload_file(client, clips["vertical"]))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_process(asset_id=asset_id, task_id="t") == "planned"
        asset = MediaAsset.objects.get(pk=asset_id)
        assert "title" not in asset.probe
        assert services.recipe.title_of(asset_id) is None
        probe = ProbeResult.from_json(asset.probe)
        names = set(ProcessingStep.objects.filter(asset_id=asset_id).values_list(
            "name", flat=True))
        assert {"validate", "rendition-240", "ladder", "mp4"} <= names
        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_step_run(
                asset_id=asset_id, name="rendition-240", task_id="t1") == "done"
        assert services.recipe.title_of(asset_id) is None  # playable without a plan
        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_step_run(
                asset_id=asset_id, name="ladder", task_id="t2") == "done"
        title = services.recipe.title_of(asset_id)
        assert title is not None
        assert title == per_title.plan_for(storage.source_path(asset_id), probe)
        ladder = transcode.plan_ladder(probe, title)
        assert ladder[0] == transcode.plan_ladder(probe)[0]
        # the ladder step's rungs carry the plan's x264 settings (the SEI of a segment)
        step = ProcessingStep.objects.get(asset_id=asset_id, name="ladder")
        rungs = {r["short_edge"] for r in step.output["renditions"]}
        assert rungs == {r.short_edge for r in ladder[1:]}
        for rendition in ladder[1:]:
            segment = (storage.asset_dir(asset_id) / "hls" / rendition.name
                       / "seg_0000.m4s").read_bytes()
            assert f"crf={rendition.crf}.0".encode() in segment
            assert b" psy=0 " in segment
            assert b"subme=7" in segment
        lowest = (storage.asset_dir(asset_id) / "hls" / "240" / "seg_0000.m4s").read_bytes()
        assert b" psy=1 " in lowest  # today's veryfast
        assert b"subme=2" in lowest
        # a second run of the ladder (a new sound) keeps the plan: not measured again
        monkeypatch.setattr(per_title, "plan_for", lambda *a: pytest.fail("planned again"))
        assert services.recipe._plan_title(asset_id, storage.source_path(asset_id),
                                           probe) == title
    finally:
        storage.remove_asset_files(asset_id)
