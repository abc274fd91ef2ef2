"""Configuration: detection settings, the policy rules and term lists, and the small
helpers that turn findings into stored JSON.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db.models import Q

from apps.moderation.detection.engine import DEFAULT_RULES, Match, Rule, Signal
from apps.moderation.detection.models import DetectionSettings, PolicyRule, TermList


def detection_settings() -> DetectionSettings:
    """The settings row (seeded by a migration); defaults if staff deleted it. Never
    written here: the publish gate reads it inside other apps' concurrent transactions."""
    return DetectionSettings.objects.filter(pk=1).first() or DetectionSettings(pk=1)


def policy_rules_seed() -> int:
    """Rows for the built-in default rules that are missing (staff then edit them).
    Returns how many were created."""
    created = 0
    for rule in DEFAULT_RULES.values():
        _, made = PolicyRule.objects.get_or_create(policy=rule.policy, defaults={
            "block_at": rule.block_at, "review_at": rule.review_at,
            "age_restrict_at": rule.age_restrict_at, "limit_reach_at": rule.limit_reach_at,
            "on_match": rule.on_match, "is_active": rule.is_active})
        created += made
    return created


def _rules() -> dict[str, Rule]:
    return {
        row.policy: Rule(row.policy, row.block_at, row.review_at, row.age_restrict_at,
                         row.limit_reach_at, row.on_match, row.is_active)
        for row in PolicyRule.objects.all()
    }


def _term_lists(language: str) -> list[TermList]:
    base = (language or "").split("-")[0].lower()
    return list(TermList.objects.filter(is_active=True, purpose=TermList.Purpose.DETECTION)
                .filter(Q(language="") | Q(language__iexact=base) | Q(language__iexact=language)))


@contextmanager
def _timed(timings: dict[str, int], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round((time.perf_counter() - start) * 1000)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _signals(rows: list[dict[str, Any]]) -> list[Signal]:
    return [Signal(r["policy"], r["source"], float(r["score"]),
                   rule=Rule(r["policy"], **r["rule"]) if r.get("rule") else None)
            for r in rows]


def _matches(rows: list[dict[str, Any]]) -> list[Match]:
    return [Match(r["policy"], r["source"], r.get("outcome", ""), r.get("detail", {}))
            for r in rows]


def _signal_json(signal: Signal) -> dict[str, Any]:
    """A signal with thresholds of its own keeps them (the upload's signals are weighed
    again with each post's caption)."""
    row: dict[str, Any] = {"policy": signal.policy, "source": signal.source,
                           "score": signal.score}
    if signal.rule is not None:
        row["rule"] = {"block_at": signal.rule.block_at, "review_at": signal.rule.review_at,
                       "age_restrict_at": signal.rule.age_restrict_at,
                       "limit_reach_at": signal.rule.limit_reach_at}
    return row


def _match_json(match: Match) -> dict[str, Any]:
    return {"policy": match.policy, "source": match.source, "outcome": match.outcome,
            "detail": match.detail}
