"""Low-latency HLS (RFC 8216bis): a small packager for ffmpeg's fragmented MP4 (parts of
~200 ms, 1 s segments, EXT-X-PART / PRELOAD-HINT / SERVER-CONTROL) and the blocking playlist
reload the serving view uses. See docs/architecture.md, "Low-latency HLS"."""

from apps.live.llhls.packager import (
    PART_TARGET,
    SEGMENT_TARGET,
    Packager,
    finish,
    fmp4_output_args,
    part_target_for,
)
from apps.live.llhls.pump import pump

__all__ = ["PART_TARGET", "SEGMENT_TARGET", "Packager", "finish", "fmp4_output_args",
           "part_target_for", "pump"]
