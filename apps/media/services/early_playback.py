"""Whether someone waits to play an asset while its pipeline runs, and what happens when
someone starts to.

Two plans (`validation._step_names`): with someone waiting, the lowest rendition decodes
the source alone (`rendition-<lowest>`: playable after ~5 s on a 15 s clip) and the rest
of the ladder and the extras' files come from a second decode (the `ladder` step); with
nobody waiting, every rung and the extras' files come from the `ladder` step's one decode
(~0.09x of the pipeline's CPU less; playable only when that step is done, ~26 s there).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.ids import allocate_ids
from apps.media import hooks, transcode
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.probe import ProbeResult
from apps.media.services._common import (
    LADDER_STEP,
    RENDITION_PREFIX,
    State,
    StepState,
    _enqueue_steps,
)
from apps.media.services.notify import _notify_on_commit


@dataclass(frozen=True)
class Choice:
    early: bool  # the lowest rendition alone first
    why: str

    def as_json(self) -> dict[str, Any]:
        return {"early": self.early, "why": self.why}


def one_decode_lead(duration_s: float) -> timedelta:
    """How far ahead a scheduled post must be for its pipeline to run from one decode."""
    return timedelta(seconds=settings.MEDIA_ONE_DECODE_LEAD_BASE_S
                     + settings.MEDIA_ONE_DECODE_LEAD_PER_SECOND * max(duration_s, 0.0))


def needs_early_playback(asset: MediaAsset, probe: ProbeResult) -> Choice:
    """The one place the plan is chosen (at validation, stored in the asset's probe as
    `playback`). Early playback (two decodes) unless nobody can be waiting:
    - `MEDIA_SINGLE_PASS_LADDER` on: one decode for every upload (the old switch);
    - the asset is playable already with renditions (`manage.py media_reprocess`, the
      per-title rollout, a re-plan): its old renditions play until the new ones replace
      them (the master is rewritten only when the ladder step is done);
    - its post is a draft: nobody plays it before it is published;
    - its post is scheduled at least `one_decode_lead` ahead.
    No post yet (the app creates it after the upload), a post published now or scheduled
    sooner: someone waits, two decodes. Publishing a draft or a scheduled post early while
    the one-decode ladder runs adds the lowest rendition's own step
    (`asset_playback_wanted`), so it plays as soon as a publish-now upload would."""
    if settings.MEDIA_SINGLE_PASS_LADDER:
        return Choice(False, "MEDIA_SINGLE_PASS_LADDER is on")
    if asset.playable_at is not None and (asset.outputs or {}).get("renditions"):
        return Choice(False, "reprocess: the asset plays from its old renditions meanwhile")
    wanted = hooks.asset_playback_wanted(asset_id=asset.pk)
    if wanted is None:
        return Choice(True, "no post on it yet: it may be published as soon as it plays")
    if wanted.at is None:
        return Choice(False, "a draft: nobody plays it before it is published")
    lead = one_decode_lead(probe.duration_s)
    ahead = wanted.at - timezone.now()
    if ahead >= lead:
        return Choice(False, f"scheduled {int(ahead.total_seconds())} s ahead "
                             f"(one decode needs {int(lead.total_seconds())} s)")
    return Choice(True, "published now" if ahead.total_seconds() <= 0
                  else f"scheduled only {int(ahead.total_seconds())} s ahead "
                       f"(one decode needs {int(lead.total_seconds())} s)")


def asset_playback_wanted(*, asset_id: int) -> bool:
    """When someone may wait to play the asset sooner (content calls this when a post's
    status or schedule changes: a draft published, a scheduled post brought forward or
    due). If its steps were planned for one decode, it is not playable yet and the hook
    now says it goes out within `one_decode_lead` (or there is no post), the lowest
    rendition gets its own step at once, as a publish-now upload has (the `ladder` step,
    if it is running, then leaves that rung out: `step_work.do_step`). Returns whether the
    step was added."""
    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().filter(pk=asset_id).first()
        if asset is None or asset.state != State.PROCESSING or asset.playable_at is not None:
            return False  # playable, not planned yet (the plan asks), or finished
        steps = dict(ProcessingStep.objects.filter(asset_id=asset_id)
                     .values_list("name", "state"))
        if LADDER_STEP not in steps or steps[LADDER_STEP] == StepState.DONE or any(
                name.startswith(RENDITION_PREFIX) for name in steps):
            return False
        probe = ProbeResult.from_json(asset.probe)
        wanted = hooks.asset_playback_wanted(asset_id=asset_id)
        if wanted is not None and (wanted.at is None or wanted.at - timezone.now()
                                   >= one_decode_lead(probe.duration_s)):
            return False  # still nobody waiting before the ladder is done
        lowest = f"{RENDITION_PREFIX}{transcode.plan_ladder(probe)[0].short_edge}"
        ProcessingStep.objects.create(id=allocate_ids(1)[0], asset_id=asset_id, name=lowest)
        asset.probe = {**asset.probe, "playback": Choice(
            True, f"a publish came at {timezone.now().isoformat()} while the one-decode "
                  "ladder ran: the lowest rendition added alone").as_json()}
        asset.save(update_fields=["probe", "updated_at"])
        from apps.media.services.recipe import _refresh_progress

        _refresh_progress(asset)
        _enqueue_steps(asset_id, [lowest])
        _notify_on_commit(asset_id)
    return True
