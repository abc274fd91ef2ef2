"""What the flag and experiment services share: key syntax, the frozen allocation fields and
the hook that makes every process's evaluator reload after a commit."""

from __future__ import annotations

import re
from typing import Any, Final

from django.db import transaction

from apps.experiments import config

ARM_KEY_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
ALLOCATION_FIELDS: Final = (
    "bucket_start",
    "bucket_end",
    "arms",
    "holdout_percent",
    "conditions",
    "layer_id",
    "salt",
    "environment",
)


def reload_after_commit(*_: Any) -> None:
    transaction.on_commit(config.forget)

