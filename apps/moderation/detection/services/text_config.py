"""The text checks' detection configuration kept per process (live chat's hot path).

A live chat line is checked by `text_scans.text_verdict` before anyone sees it, at tens of
lines a second; each check used to read the staff's configuration again: the detection
settings row, the policy rules, the term lists of the poster's language (parsed every
time) and the surface thresholds of the text heads, four queries and their parsing for
rows that change when a moderator edits them. `text_config()` keeps them as one
`TextConfig` per process and reads them again only when:

- the **version key** (`VERSION_KEY`, in the cache: Redis) holds another token than when
  they were read: a save or delete of a `DetectionSettings`, `PolicyRule`, `TermList` or
  `SurfaceThreshold` row (the admin's edits, audited there) sets a fresh token at once and
  again after its commit (`bump`, connected in the app's `ready`), so a reader that loaded
  the old rows between the two sees the second token; one cache read a check;
- the key is missing (a fresh or flushed Redis): a token is made and the rows read;
- `MAX_AGE_SECONDS` passed (a write that sends no signal: a queryset `update()` in a
  shell, a migration);
- Redis does not answer (its stand-in is per process and would not see another process's
  edit): nothing is kept, every check reads the rows, as before.

Only callers that pass `config=text_config()` use it (live chat); every other text check
reads the rows itself.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import cache
from django.db import transaction

from apps.moderation.detection import text
from apps.moderation.detection.engine import Rule
from apps.moderation.detection.models import (
    DetectionSettings,
    PolicyRule,
    SurfaceThreshold,
    TermList,
)
from apps.moderation.detection.services.config import _rules, detection_settings
from apps.moderation.detection.services.text_heads import Thresholds, _thresholds_table

logger = logging.getLogger(__name__)

VERSION_KEY = "moderation:detection:textconfig"
VERSION_TTL = 7 * 24 * 3600
MAX_AGE_SECONDS = 30.0
WATCHED = (DetectionSettings, PolicyRule, TermList, SurfaceThreshold)


@dataclass(frozen=True)
class TextConfig:
    """What a text check reads of the staff's configuration, read once."""

    settings: DetectionSettings
    rules: dict[str, Rule]
    thresholds: dict[tuple[str, str], Thresholds]
    # every active detection list with its parsed terms, in the model's order
    lists: tuple[tuple[TermList, tuple[str, ...]], ...]
    _by_language: dict[str, list[tuple[TermList, tuple[str, ...]]]] = field(
        default_factory=dict, compare=False
    )

    def term_lists(self, language: str) -> list[tuple[TermList, tuple[str, ...]]]:
        """The lists `config._term_lists(language)` answers (every language's, the base
        language's and the exact tag's), with their terms parsed."""
        found = self._by_language.get(language)
        if found is None:
            base = (language or "").split("-")[0].lower()
            exact = (language or "").lower()
            found = [
                (row, terms)
                for row, terms in self.lists
                if row.language == "" or row.language.lower() in (base, exact)
            ]
            self._by_language[language] = found  # a dict write: safe between threads
        return found


def load() -> TextConfig:
    """Everything read now."""
    rows = TermList.objects.filter(is_active=True, purpose=TermList.Purpose.DETECTION)
    return TextConfig(
        settings=detection_settings(),
        rules=_rules(),
        thresholds=_thresholds_table(),
        lists=tuple((row, tuple(text.parse_terms(row.terms))) for row in rows),
    )


_lock = threading.Lock()
_kept: tuple[TextConfig, str, float] | None = None
loads = 0  # how many times the rows were read (tests, the bench)


def _token() -> str | None:
    """The version key's token (made when missing), or None when Redis did not answer."""
    read: Any = getattr(cache, "get_many_from_redis", None)
    if read is None:
        return None
    found, from_redis = read([VERSION_KEY])
    if not from_redis:
        return None
    token = found.get(VERSION_KEY)
    if token is None:
        fresh = uuid.uuid4().hex
        cache.add(VERSION_KEY, fresh, timeout=VERSION_TTL)
        token = cache.get(VERSION_KEY)
    return str(token) if token is not None else None


def text_config() -> TextConfig:
    """The configuration, kept while its version token holds (see the module)."""
    global _kept, loads
    token = _token()  # first the token, then the rows: an edit in between leaves a newer one
    kept = _kept
    now = time.monotonic()
    if (
        kept is not None
        and token is not None
        and kept[1] == token
        and now - kept[2] < (MAX_AGE_SECONDS)
    ):
        return kept[0]
    config = load()
    with _lock:
        loads += 1
        _kept = (config, token, now) if token is not None else None
    return config


def bump(**_: Any) -> None:
    """A configuration row was saved or deleted: a fresh token now (reads within the same
    transaction see it) and again after the commit (a reader that read the old rows in
    between reads again)."""

    def fresh() -> None:
        try:
            cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=VERSION_TTL)
        except Exception:  # the cache never raises by design; be sure
            logger.warning("detection: text configuration version not bumped", exc_info=True)

    fresh()
    transaction.on_commit(fresh)


def connect() -> None:
    """The app's `ready`: every save and delete of a configuration row bumps the version
    (signals within moderation itself: these are its own tables)."""
    from django.db.models.signals import post_delete, post_save

    for model in WATCHED:
        post_save.connect(bump, sender=model, dispatch_uid=f"textconfig-save-{model.__name__}")
        post_delete.connect(bump, sender=model, dispatch_uid=f"textconfig-del-{model.__name__}")
