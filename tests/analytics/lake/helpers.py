"""Events into the real log as the event API puts them there (validation, the visibility
check, dedupe, one entry per batch). On a loaded machine the hot path's 50 ms Redis timeout
can spool a batch to PostgreSQL; it is drained into the stream here, as beat would."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser

from apps.events.services import events_ingest
from apps.events.spool import spool_drain


def send(user: Any, events: list[dict[str, Any]], *, server: bool = False) -> None:
    result = events_ingest(user_id=user.pk if user else None, viewer=user or AnonymousUser(),
                           events=events, client={"ua": "pytest", "auth": "session"},
                           server=server)
    assert result.rejected == []
    assert result.dropped == 0
    if result.spooled:
        assert spool_drain().batches == 1
