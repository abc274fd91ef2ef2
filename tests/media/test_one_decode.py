"""Where nobody waits to play (a reprocess, a draft, a post scheduled far enough ahead), every
rung and the extras come from the `ladder` step's one decode; where someone waits (no post
yet, publish now, scheduled soon) the lowest rendition decodes the source alone, as before
(`early_playback.needs_early_playback`). A draft published while its one-decode ladder runs gets
its lowest rendition alone (`services.asset_playback_wanted`). Real ffmpeg; the reprocess
through a real Celery worker and `manage.py media_reprocess`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from apps.content import services as content
from apps.media import services, storage, transcode
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.probe import probe_file
from apps.media.services import early_playback
from tests.factories import UserFactory
from tests.media.conftest import upload_file, wait_for
from tests.media.test_pipeline import (
    check_outputs_from_the_ladder,
    media_playlist_segments,
    parse_master,
    play_check,
)

FROM_LADDER = ["poster", "preview", "storyboard", "audio", "frames"]


def _queue(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """The task queue replaced by a list: the steps run here, in order."""
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr("apps.media.tasks.process_asset.delay", lambda *a: sent.append(a))
    monkeypatch.setattr("apps.media.tasks.run_step.delay", lambda *a: sent.append(a))
    monkeypatch.setattr("apps.media.tasks.process_asset.apply_async",
                        lambda args=(), kwargs=None, **_: sent.append(tuple(args)))
    return sent


def _uploaded(clips: dict[str, Path]) -> tuple[Any, int]:
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    return user, int(upload_file(client, clips["vertical"]))


def _step_names(asset_id: int) -> set[str]:
    return set(ProcessingStep.objects.filter(asset_id=asset_id).values_list("name", flat=True))


def _renditions_play(asset_id: int, tmp_path: Path) -> list[str]:
    """Every rendition the master lists decodes whole (75 frames of the 2.5 s clip)."""
    base = storage.asset_dir(asset_id) / "hls"
    variants = parse_master((base / "master.m3u8").read_text())
    for variant in variants:
        directory = base / variant["URI"].split("/")[0]
        _, names = media_playlist_segments(directory / "index.m3u8")
        frames, _ = play_check(directory, names, tmp_path)
        assert frames == 75, variant
    return [v["RESOLUTION"] for v in variants]


@pytest.mark.django_db
def test_the_chooser_says_who_waits(clips, monkeypatch, settings):
    _queue(monkeypatch)
    user, asset_id = _uploaded(clips)
    asset = MediaAsset.objects.get(pk=asset_id)
    probe = probe_file(clips["vertical"])
    try:
        # no post yet: its author may publish as soon as it plays
        assert early_playback.needs_early_playback(asset, probe).early
        post = content.post_create(author=user, asset_id=asset_id, publish="draft")
        choice = early_playback.needs_early_playback(asset, probe)
        assert (choice.early, choice.why) == (
            False, "a draft: nobody plays it before it is published")
        # scheduled: one decode only with the lead (base + per second of video) ahead
        lead = timedelta(seconds=settings.MEDIA_ONE_DECODE_LEAD_BASE_S
                         + settings.MEDIA_ONE_DECODE_LEAD_PER_SECOND * 2.5)
        content.post_update(user=user, post_id=post.pk,
                            publish=timezone.now() + lead + timedelta(minutes=1))
        assert not early_playback.needs_early_playback(asset, probe).early
        content.post_update(user=user, post_id=post.pk,
                            publish=timezone.now() + lead - timedelta(minutes=1))
        assert "scheduled only" in early_playback.needs_early_playback(asset, probe).why
        assert early_playback.needs_early_playback(asset, probe).early
        # published now (processing until it plays): someone waits
        content.post_update(user=user, post_id=post.pk, publish="now")
        choice = early_playback.needs_early_playback(asset, probe)
        assert (choice.early, choice.why) == (True, "published now")
        # a reprocess of an asset that plays from its renditions: nobody waits
        asset.playable_at = timezone.now()
        asset.outputs = {"renditions": [{"short_edge": 240}]}
        assert early_playback.needs_early_playback(asset, probe).why.startswith("reprocess")
        # the switch for every upload
        asset.playable_at, asset.outputs = None, {}
        settings.MEDIA_SINGLE_PASS_LADDER = True
        assert not early_playback.needs_early_playback(asset, probe).early
    finally:
        storage.remove_asset_files(asset_id)


@pytest.mark.django_db
def test_publish_now_keeps_the_lowest_rendition_alone(clips, monkeypatch,
                                                      django_capture_on_commit_callbacks):
    sent = _queue(monkeypatch)
    user, asset_id = _uploaded(clips)
    content.post_create(author=user, asset_id=asset_id, publish="now")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.asset_process(asset_id=asset_id, task_id="t-validate") == "planned"
    assert [args[1] for args in sent if len(args) > 1] == ["rendition-240", "ladder"]
    assert MediaAsset.objects.get(pk=asset_id).probe["playback"] == {
        "early": True, "why": "published now"}


@pytest.mark.django_db
def test_a_draft_is_made_from_one_decode(clips, monkeypatch, tmp_path,
                                         django_capture_on_commit_callbacks):
    sent = _queue(monkeypatch)
    user, asset_id = _uploaded(clips)
    post = content.post_create(author=user, asset_id=asset_id, publish="draft")
    try:
        sent.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_process(asset_id=asset_id, task_id="t-validate") == "planned"
        # no separate lowest-rendition step: the ladder alone is sent
        assert [args[1] for args in sent] == ["ladder"]
        assert not any(name.startswith("rendition-") for name in _step_names(asset_id))
        assert MediaAsset.objects.get(pk=asset_id).probe["playback"]["early"] is False
        sent.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_step_run(
                asset_id=asset_id, name="ladder", task_id="t-ladder") == "done"
        asset = MediaAsset.objects.get(pk=asset_id)
        assert asset.playable_at is not None  # every rung at once, the lowest included
        ladder = ProcessingStep.objects.get(asset_id=asset_id, name="ladder")
        assert [r["short_edge"] for r in ladder.output["renditions"]] == [240, 360]
        assert sorted(args[1] for args in sent) == sorted([*FROM_LADDER, "mp4"])
        with django_capture_on_commit_callbacks(execute=True):
            for name in [*FROM_LADDER, "mp4"]:
                services.asset_step_run(asset_id=asset_id, name=name, task_id=f"t-{name}")
        assert MediaAsset.objects.get(pk=asset_id).state == "ready"
        # the outputs decode and match the renditions they come from
        check_outputs_from_the_ladder(asset_id)
        assert _renditions_play(asset_id, tmp_path) == ["240x426", "360x640"]
        # published later: already playable, nothing added
        assert not services.asset_playback_wanted(asset_id=asset_id)
        content.post_update(user=user, post_id=post.pk, publish="now")
        assert not any(name.startswith("rendition-") for name in _step_names(asset_id))
    finally:
        storage.remove_asset_files(asset_id)


@pytest.mark.django_db
def test_a_draft_published_while_its_ladder_runs_plays_from_its_own_lowest_rendition(
        clips, monkeypatch, tmp_path, django_capture_on_commit_callbacks):
    sent = _queue(monkeypatch)
    user, asset_id = _uploaded(clips)
    post = content.post_create(author=user, asset_id=asset_id, publish="draft")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.asset_process(asset_id=asset_id, task_id="t-validate")
        sent.clear()
        # the author publishes while the ladder's one command runs: the post waits in
        # `processing`, and the lowest rendition gets its own step at once
        real_ladder = transcode.transcode_ladder

        def publish_meanwhile(*args: Any, **kwargs: Any) -> Any:
            result = real_ladder(*args, **kwargs)
            with django_capture_on_commit_callbacks(execute=True):
                content.post_update(user=user, post_id=post.pk, publish="now")
            return result

        monkeypatch.setattr(transcode, "transcode_ladder", publish_meanwhile)
        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_step_run(
                asset_id=asset_id, name="ladder", task_id="t-ladder") == "done"
        monkeypatch.setattr(transcode, "transcode_ladder", real_ladder)
        assert "rendition-240" in [args[1] for args in sent]
        assert MediaAsset.objects.get(pk=asset_id).probe["playback"]["early"] is True
        post.refresh_from_db()
        assert post.status == "processing"
        # the ladder left its copy of that rung out (one writer per rendition)
        ladder = ProcessingStep.objects.get(asset_id=asset_id, name="ladder")
        assert [r["short_edge"] for r in ladder.output["renditions"]] == [360]
        assert MediaAsset.objects.get(pk=asset_id).playable_at is None
        # the lowest rendition's own step makes it playable and the post goes out
        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_step_run(
                asset_id=asset_id, name="rendition-240", task_id="t-240") == "done"
        assert MediaAsset.objects.get(pk=asset_id).playable_at is not None
        post.refresh_from_db()  # out of `processing` (held for moderation's checks here)
        assert post.status in ("reviewing", "published")
        for name in [*FROM_LADDER, "mp4"]:
            services.asset_step_run(asset_id=asset_id, name=name, task_id=f"t-{name}")
        assert MediaAsset.objects.get(pk=asset_id).state == "ready"
        assert _renditions_play(asset_id, tmp_path) == ["240x426", "360x640"]
    finally:
        storage.remove_asset_files(asset_id)


@pytest.mark.django_db
def test_a_scheduled_post_brought_forward_gets_the_lowest_rendition_alone(
        clips, monkeypatch, settings, django_capture_on_commit_callbacks):
    sent = _queue(monkeypatch)
    user, asset_id = _uploaded(clips)
    post = content.post_create(author=user, asset_id=asset_id,
                               publish=timezone.now() + timedelta(days=1))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.asset_process(asset_id=asset_id, task_id="t-validate")
        assert "rendition-240" not in _step_names(asset_id)
        sent.clear()
        # moved to a later time still far ahead: nothing changes
        with django_capture_on_commit_callbacks(execute=True):
            content.post_update(user=user, post_id=post.pk,
                                publish=timezone.now() + timedelta(days=2))
        assert sent == []
        # brought forward within the lead: the lowest rendition alone, sent at once
        with django_capture_on_commit_callbacks(execute=True):
            content.post_update(user=user, post_id=post.pk,
                                publish=timezone.now() + timedelta(minutes=6))
        assert sent == [(asset_id, "rendition-240")]
        assert "rendition-240" in _step_names(asset_id)
    finally:
        storage.remove_asset_files(asset_id)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_media_reprocess_runs_from_one_decode(celery_worker_process, clips, tmp_path):
    _, asset_id = _uploaded(clips)

    def ready() -> bool:
        asset = MediaAsset.objects.get(pk=asset_id)
        assert asset.state not in ("rejected", "failed"), asset.state_reason
        return asset.state == "ready"

    wait_for(ready, "the upload to be ready")
    assert "rendition-240" in _step_names(asset_id)  # no post: someone may wait
    try:
        call_command("media_reprocess", "--id", str(asset_id), "--reason", "one decode")
        wait_for(lambda: "validate" in _step_names(asset_id) and ready(),
                 "the reprocess to be ready")
        steps = {s.name: s for s in ProcessingStep.objects.filter(asset_id=asset_id)}
        assert not any(name.startswith("rendition-") for name in steps)
        assert all(s.state == "done" for s in steps.values())
        asset = MediaAsset.objects.get(pk=asset_id)
        assert asset.probe["playback"] == {
            "early": False,
            "why": "reprocess: the asset plays from its old renditions meanwhile"}
        assert [r["short_edge"] for r in steps["ladder"].output["renditions"]] == [240, 360]
        check_outputs_from_the_ladder(asset_id)
        assert _renditions_play(asset_id, tmp_path) == ["240x426", "360x640"]
    finally:
        storage.remove_asset_files(asset_id)
