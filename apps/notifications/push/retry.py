"""One send's answer and the retry loop every channel shares: 429/5xx (and network
errors) are retried with exponential backoff, a Retry-After up to the cap is honoured;
what still fails is left to the caller's retry (PushRetry)."""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from django.conf import settings


class Result(Enum):
    SENT = "sent"
    REMOVE = "remove"  # the token/subscription is gone for good (404/410/UNREGISTERED)
    FAILED = "failed"  # refused for a reason a retry does not fix (logged)
    RETRY = "retry"  # 429, 5xx, a timeout


@dataclass(frozen=True)
class Answer:
    result: Result
    detail: str = ""
    retry_after: float | None = None  # seconds, from the service's Retry-After


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def status_result(status: int) -> Result:
    if 200 <= status < 300:
        return Result.SENT
    if status in (404, 410):
        return Result.REMOVE
    if status == 429 or status >= 500:
        return Result.RETRY
    return Result.FAILED


def with_retries(send: Callable[[], Answer]) -> Answer:
    """Call `send` up to SWIPEME_PUSH_ATTEMPTS times while it answers RETRY, sleeping the
    service's Retry-After (when under the cap) or an exponential backoff with jitter."""
    attempts = max(1, settings.SWIPEME_PUSH_ATTEMPTS)
    answer = send()
    for attempt in range(1, attempts):
        if answer.result is not Result.RETRY:
            break
        if answer.retry_after is not None:
            if answer.retry_after > settings.SWIPEME_PUSH_RETRY_AFTER_CAP:
                break  # too long to hold a worker: the caller retries later
            delay = answer.retry_after
        else:
            base = settings.SWIPEME_PUSH_BACKOFF_SECONDS * 2 ** (attempt - 1)
            delay = base + random.uniform(0, base / 2)  # noqa: S311 (jitter, not a secret)
        time.sleep(delay)
        answer = send()
    return answer
