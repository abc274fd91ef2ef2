"""Every write of automated detection.

Uploads: media's step-done hook starts `asset_scan` (a task) once the moderation frames and
the audio are extracted. The scan stores the upload's features (frame PDQ hashes, nudity
scores, audio fingerprint) and its findings on `AssetCheck`, records a `Scan`, then settles
each post waiting in `reviewing`: the policy engine weighs the upload's findings with the
post's caption (and ignores an audio match on the catalogue sound the post licensed), and
the outcome is applied through the enforcement service (remove, age-restrict, limit reach),
an automated case (review), or `post_release_from_review`.

Content's publish gate (`publish_gate`) holds every post whose upload has no finished scan;
with one, it scans the caption there and then and lets a clean post through at once.

Text elsewhere (comments, bios, usernames, display names) is scanned by tasks started from
comments' and accounts' hooks. A change of any rule, list, claim or setting re-evaluates
the stored features of every scanned upload in batches (`rescan_schedule`).

One module per use case: `config` (settings, rules, term lists), `text_scans`, `matching`
(an upload's features and their matches against hash lists and claimed sounds), `scans`
(the gate, the scan, settling posts), `rescans`, `hash_lists`; shared constants in
`_common`. This package re-exports the names callers use.
"""

from apps.moderation.detection.services._common import (
    HASH_CHUNK,
    PENDING_STALE,
    RESCAN_BATCH,
    RUNNING_STALE,
    SCAN_STEPS,
)
from apps.moderation.detection.services.config import detection_settings, policy_rules_seed
from apps.moderation.detection.services.frames import (
    deciding,
    frame_nudity_verdict,
    frame_verdict,
    signal_score,
)
from apps.moderation.detection.services.hash_lists import hash_list_import
from apps.moderation.detection.services.matching import (
    asset_findings,
    claim_fingerprint_refresh,
    extract_features,
    sound_fingerprint,
)
from apps.moderation.detection.services.rescans import checks_sweep, rescan_batch, rescan_schedule
from apps.moderation.detection.services.scans import (
    asset_checks_clear,
    asset_checks_rescan,
    asset_scan,
    asset_scan_failed,
    on_asset_step_done,
    post_settle,
    publish_gate,
)
from apps.moderation.detection.services.text_scans import (
    PROFILE_FIELDS,
    _spam_signal,
    comment_scan,
    profile_scan,
    text_findings,
    text_scan,
    text_verdict,
)

__all__ = [
    "HASH_CHUNK",
    "PENDING_STALE",
    "PROFILE_FIELDS",
    "RESCAN_BATCH",
    "RUNNING_STALE",
    "SCAN_STEPS",
    "_spam_signal",
    "asset_checks_clear",
    "asset_checks_rescan",
    "asset_findings",
    "asset_scan",
    "asset_scan_failed",
    "checks_sweep",
    "claim_fingerprint_refresh",
    "comment_scan",
    "deciding",
    "detection_settings",
    "extract_features",
    "frame_nudity_verdict",
    "frame_verdict",
    "hash_list_import",
    "on_asset_step_done",
    "policy_rules_seed",
    "post_settle",
    "profile_scan",
    "publish_gate",
    "rescan_batch",
    "rescan_schedule",
    "signal_score",
    "sound_fingerprint",
    "text_findings",
    "text_scan",
    "text_verdict",
]
