"""Moderation's tunables. Each can be overridden by a Django setting of the same name
(`SWIPEME_MODERATION_*`); the defaults are what a small team would start with."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings

from apps.moderation.models import Priority, Queue
from apps.moderation.policies import Policy

# Hours from opening to the SLA deadline, per priority; queues may scale them.
_SLA_HOURS = {Priority.URGENT: 1, Priority.HIGH: 4, Priority.NORMAL: 24, Priority.LOW: 72}
_QUEUE_SLA_FACTOR = {Queue.GENERAL: 1.0, Queue.MINOR_SAFETY: 0.5, Queue.COPYRIGHT: 2.0,
                     Queue.APPEALS: 2.0, Queue.SENIOR: 1.0,
                     # a live harms while it is on air: P0 15 minutes, P1 an hour
                     Queue.LIVE: 0.25}

# Where a policy's reports go, and the least urgent priority they may have.
POLICY_QUEUE = {Policy.MINOR_SAFETY: Queue.MINOR_SAFETY, Policy.COPYRIGHT: Queue.COPYRIGHT}
POLICY_PRIORITY_FLOOR = {Policy.MINOR_SAFETY: Priority.URGENT,
                         Policy.SELF_HARM: Priority.HIGH}
# Lives and their chat messages go to the live queue, whatever the policy.
TARGET_QUEUE = {"live": Queue.LIVE, "live_message": Queue.LIVE}
# Every this many reports of one target raise its case's priority by one step (to P1).
REPORTS_PER_PRIORITY_STEP = 5


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, f"SWIPEME_MODERATION_{name}", default)


def sla_for(queue: str, priority: int) -> timedelta:
    hours = _setting("SLA_HOURS", _SLA_HOURS).get(priority, 24)
    return timedelta(hours=hours * _QUEUE_SLA_FACTOR.get(Queue(queue), 1.0))


def queue_for(target_type: str, policy: str) -> str:
    """The queue a new case of this target and policy goes to."""
    return TARGET_QUEUE.get(target_type) or POLICY_QUEUE.get(Policy(policy), Queue.GENERAL)


def live_key_ban_length() -> timedelta:
    """How long a banned stream key keeps its host from making a new one."""
    return timedelta(days=_setting("LIVE_KEY_BAN_DAYS", 30))


def claim_ttl() -> timedelta:
    return timedelta(minutes=_setting("CLAIM_MINUTES", 15))


def strike_ttl() -> timedelta:
    return timedelta(days=_setting("STRIKE_DAYS", 90))


def appeal_window() -> timedelta:
    return timedelta(days=_setting("APPEAL_DAYS", 30))


def suspension_length() -> timedelta:
    return timedelta(days=_setting("SUSPENSION_DAYS", 7))


def feature_limit_length() -> timedelta:
    return timedelta(days=_setting("FEATURE_LIMIT_DAYS", 7))


def strike_thresholds() -> dict[int, str]:
    """Active strikes → the consequence the enforcement service applies on reaching them."""
    default = {2: "limit", 3: "suspend", 4: "ban"}
    return dict(_setting("STRIKE_THRESHOLDS", default))


def guideline_url(policy: str) -> str:
    """The community-guidelines page of a policy (seeded by cms's seed_help_centre; the
    cms app renders it, moderation only links to it)."""
    base: str = _setting("GUIDELINES_PATH", "/pages/community-guidelines/")
    return f"{base.rstrip('/')}/{policy}/"
