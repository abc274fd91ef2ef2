"""Every write of live (use cases in the modules; callers import from here)."""

from apps.live.services.keys import key_create, key_lookup, key_revoke
from apps.live.services.lifecycle import (
    IngestRefused,
    live_create,
    live_end,
    live_update,
    publish_started,
    publish_stopped,
    replay_choose,
)

__all__ = [
    "IngestRefused", "key_create", "key_lookup", "key_revoke", "live_create", "live_end",
    "live_update", "publish_started", "publish_stopped", "replay_choose",
]
