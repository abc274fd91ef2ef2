"""Every write of media: uploads (tus 1.0 core on local storage, or an S3 multipart
upload straight to the bucket when the default storage is S3), validation, the
processing steps, progressive publishing, re-queueing and reprocessing.

Step protocol: a step is *claimed* with a compare-and-set (pending/failed, or running but
claimed by this same Celery task id — a redelivery after a killed worker — or running
with a stale heartbeat); its work goes to a staging directory that is renamed into place;
it is marked done with another compare-and-set. Completing a step locks the asset row, so
the master playlist, progress and the playable/ready transitions are decided one step at
a time. A step can therefore run twice without harm, and never half-publishes.

One module per use case: `uploads` (tus), `s3_uploads` (S3 multipart), `validation`
(probing and planning the steps), `steps` (running one), `recipe` (the chosen sound and
cover, the step work and what a finished step publishes), `operations` (re-queueing,
reprocessing, purging), `rendered` (a file made on the server, the studio's render, as a new
asset), `notify` (the owner's websocket); shared constants and helpers in
`_common`. This package re-exports the names callers use.
"""

from apps.media.services._common import (
    EXTRA_STEPS,
    IN_FLIGHT,
    LADDER_STEP,
    RENDITION_PREFIX,
    VALIDATE,
    State,
    StepState,
    _local_source,
)
from apps.media.services.av1 import (
    asset_av1_request,
    assets_av1_views_passed,
    av1_view_threshold,
)
from apps.media.services.captions import (
    CaptionError,
    caption_track_delete,
    caption_track_edit,
    caption_track_request_auto,
    caption_track_run_auto,
    caption_track_upload,
)
from apps.media.services.early_playback import asset_playback_wanted, needs_early_playback
from apps.media.services.notify import asset_group, asset_status
from apps.media.services.operations import (
    asset_reprocess,
    assets_for_reprocess,
    assets_requeue_stalled,
    media_purge_user,
)
from apps.media.services.recipe import SoundNotReadyError, asset_recipe_changed, recipe_key
from apps.media.services.rendered import asset_create_from_file, asset_source_file
from apps.media.services.s3_uploads import (
    s3_part_count,
    s3_upload_complete,
    s3_upload_part_urls,
    s3_upload_parts,
)
from apps.media.services.steps import StepError, _claim, asset_step_run
from apps.media.services.uploads import (
    ACCEPTED_DECLARED_TYPES,
    UPLOAD_CANCELLED,
    TooManyUploadsError,
    human_size,
    upload_append,
    upload_asset_for_token,
    upload_create,
    upload_terminate,
)
from apps.media.services.validation import asset_fail, asset_process, asset_reject

__all__ = [
    "ACCEPTED_DECLARED_TYPES",
    "EXTRA_STEPS",
    "IN_FLIGHT",
    "LADDER_STEP",
    "RENDITION_PREFIX",
    "UPLOAD_CANCELLED",
    "VALIDATE",
    "CaptionError",
    "SoundNotReadyError",
    "State",
    "StepError",
    "StepState",
    "TooManyUploadsError",
    "_claim",
    "_local_source",
    "asset_av1_request",
    "asset_create_from_file",
    "asset_fail",
    "asset_group",
    "asset_playback_wanted",
    "asset_process",
    "asset_recipe_changed",
    "asset_reject",
    "asset_reprocess",
    "asset_source_file",
    "asset_status",
    "asset_step_run",
    "assets_av1_views_passed",
    "assets_for_reprocess",
    "assets_requeue_stalled",
    "av1_view_threshold",
    "caption_track_delete",
    "caption_track_edit",
    "caption_track_request_auto",
    "caption_track_run_auto",
    "caption_track_upload",
    "human_size",
    "media_purge_user",
    "needs_early_playback",
    "recipe_key",
    "s3_part_count",
    "s3_upload_complete",
    "s3_upload_part_urls",
    "s3_upload_parts",
    "upload_append",
    "upload_asset_for_token",
    "upload_create",
    "upload_terminate",
]
