"""Reads of automated detection, for the review view (`apps.moderation`) and the admin."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings

from apps.content.models import Post
from apps.moderation.detection.models import AssetCheck, Scan, TermList
from apps.moderation.detection.text import parse_terms, term_hits

EVIDENCE_SCANS = 20


def _scan_json(scan: Scan) -> dict[str, Any]:
    return {
        "id": str(scan.pk), "at": scan.created_at.isoformat(), "kind": scan.kind,
        "trigger": scan.trigger, "field": scan.field, "ok": scan.ok, "error": scan.error,
        "outcome": scan.outcome, "policy": scan.policy, "decisions": scan.decisions,
        "scores": scan.scores, "matches": scan.matches,
        "model_versions": scan.model_versions, "timings_ms": scan.timings_ms,
    }


def _check_json(check: AssetCheck) -> dict[str, Any]:
    nude = check.features.get("nudity") or {}
    return {
        "asset_id": str(check.asset_id), "state": check.state, "outcome": check.outcome,
        "policy": check.policy, "decisions": check.decisions, "matches": check.matches,
        "signals": check.signals, "attempts": check.attempts,
        "last_error": check.last_error, "manual_reason": check.manual_reason,
        "decided_at": check.decided_at.isoformat() if check.decided_at else None,
        "nudity_frames": [
            {"frame": f["frame"], "explicit": f["explicit"], "suggestive": f["suggestive"]}
            for f in nude.get("frames", [])],
        "versions": check.features.get("versions", {}),
        # on-screen text OCR read from the sampled frames, and which frames had it
        "ocr_text": str((check.features.get("ocr") or {}).get("text") or ""),
        "ocr_frames": [f.get("frame") for f in (check.features.get("ocr") or {}).get("frames", [])
                       if isinstance(f, dict) and f.get("lines")],
    }


def evidence_for(target_type: str, target_id: int) -> dict[str, Any]:
    """Everything detection knows about a target: for a post, its upload's gate state and
    findings (per-frame nudity scores, hash and audio matches) and the scans of the upload
    and the caption; for a comment or an account, the scans of its text. Newest first."""
    result: dict[str, Any] = {"target_type": target_type, "target_id": str(target_id),
                              "upload": None, "scans": []}
    keys = [(target_type, target_id)]
    if target_type == "post":
        asset_id = Post.objects.filter(pk=target_id).values_list("asset_id", flat=True).first()
        if asset_id is not None:
            check = AssetCheck.objects.filter(asset_id=asset_id).first()
            if check is not None:
                result["upload"] = _check_json(check)
            keys.append(("asset", asset_id))
    scans: list[Scan] = []
    for kind, pk in keys:
        scans += list(Scan.objects.filter(target_type=kind, target_id=pk)
                      .order_by("-id")[:EVIDENCE_SCANS])
    scans.sort(key=lambda s: s.pk, reverse=True)
    result["scans"] = [_scan_json(s) for s in scans[:EVIDENCE_SCANS]]
    return result


# Every active "search_blocked" list as (id, language lower-cased, parsed terms), and when
# this process read them: every search consults them, so they are read at most once every
# SWIPEME_SEARCH_BLOCKED_RELOAD_SECONDS per process (a staff edit applies everywhere within
# that; the lists are small, so a reload is one short query). One tuple, swapped whole.
_search_blocked_cache: tuple[float, list[tuple[int, str, list[str]]]] | None = None


def _active_search_blocked_lists() -> list[tuple[int, str, list[str]]]:
    global _search_blocked_cache
    cached, now = _search_blocked_cache, time.monotonic()
    if cached is not None and now - cached[0] < settings.SWIPEME_SEARCH_BLOCKED_RELOAD_SECONDS:
        return cached[1]
    rows = (TermList.objects.filter(is_active=True, purpose=TermList.Purpose.SEARCH_BLOCKED)
            .order_by("id").only("id", "language", "terms"))
    lists = [(row.pk, row.language.lower(), parse_terms(row.terms)) for row in rows]
    _search_blocked_cache = (now, lists)
    return lists


def _search_blocked_lists(language: str) -> list[tuple[int, list[str]]]:
    """The lists for every language ("") and for `language` (or its base, "pt" of
    "pt-BR"); with no language known, every list."""
    base = (language or "").split("-")[0].lower()
    wanted = {"", base, (language or "").lower()}
    return [(pk, terms) for pk, lang, terms in _active_search_blocked_lists()
            if not base or lang in wanted]


def search_blocked_term(query: str, *, language: str = "") -> str | None:
    """The staff-listed blocked search term the query contains (whole words or phrases,
    folded as detection folds them: case, accents, look-alikes, leetspeak), or None. The
    active "search_blocked" term lists for every language ("") and for `language` apply;
    with no language known, every list does (a safety net: missing a self-harm search
    costs more than a rare word shared by two languages). No query while this process's
    copy of the lists is fresh (`_active_search_blocked_lists`)."""
    hits = term_hits(query, _search_blocked_lists(language))
    return hits[0].term if hits else None


def search_blocked_names(names: Iterable[str], *, language: str = "") -> set[str]:
    """Which of `names` (hashtags: one word, so terms also match inside them, "#proana")
    carry a blocked search term: search does not offer them, as you type or otherwise."""
    wanted = list(names)
    lists = _search_blocked_lists(language) if wanted else []
    return {name for name in wanted if term_hits(name, lists, substring=True)}


def search_blocked_among(queries: Iterable[str]) -> set[str]:
    """Those of `queries` that contain a term of any active "search_blocked" list, whatever
    its language (for lists shown to everyone, such as trending searches), matched as
    `search_blocked_term` matches."""
    wanted = list(queries)
    if not wanted:
        return set()
    parsed = _search_blocked_lists("")
    if not parsed:
        return set()
    return {query for query in wanted if term_hits(query, parsed)}


def asset_check_for(asset_id: int) -> AssetCheck | None:
    """An upload's pre-publish check (None: not started). Its own verdict (`outcome`,
    `policy`) once `state` is done; messaging delivers a media message from it."""
    return (AssetCheck.objects.filter(asset_id=asset_id)
            .only("asset_id", "state", "outcome", "policy").first())
