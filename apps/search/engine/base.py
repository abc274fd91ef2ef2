"""The `SearchBackend` interface: the one seam between the search app and an index engine.

The engine only answers "which documents of this kind match this text, how well": safety,
visibility and the mix with popularity, freshness and the viewer are applied by the search
service at query time on top of its answer (so a take-down is gone at once, whatever the
index says). Every backend passes tests/search/test_backend_contract.py; moving to
OpenSearch or Meilisearch means writing one more class against it (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Kind = Literal["account", "video", "sound", "hashtag"]
KINDS: tuple[Kind, ...] = ("account", "video", "sound", "hashtag")


@dataclass(frozen=True, slots=True)
class SearchDoc:
    """One indexed entry. `fields` holds its searchable texts by name, e.g. an account's
    {"handle": ..., "display_name": ...}, a video's {"caption", "hashtags", "sound",
    "transcript"}, a sound's {"title", "artist"}, a hashtag's {"name"}. `popularity` is a
    non-negative figure the service may use for ties (followers, plays, uses)."""

    kind: Kind
    id: int
    fields: Mapping[str, str]
    popularity: float = 0.0
    created_at: float = 0.0  # epoch seconds
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Hit:
    id: int
    score: float  # higher is better; comparable only within one answer


class SearchBackend(Protocol):
    name: str
    # True when a search touches no database connection (an index in this process): the
    # service may then run one on another thread (Top's two engine calls at once).
    in_process: bool

    def apply(self, *, upserts: Sequence[SearchDoc] = (),
              deletes: Sequence[tuple[Kind, int]] = ()) -> None:
        """Write a batch durably (committed and visible to readers in every process when it
        returns). Upserting an existing (kind, id) replaces it; deleting an unknown one is a
        no-op."""
        ...

    def search(self, kind: Kind, query: str, *, limit: int, prefix: bool = False) -> list[Hit]:
        """Best `limit` matches of `query` among documents of `kind`, best first. Accents and
        case folded; typos tolerated by word length (1 from 5 characters, 2 from 9); with
        `prefix` the last word also matches as a prefix (as-you-type). An empty or
        unmatchable query returns []. Never raises on any text."""
        ...

    def search_many(self, requests: Sequence[tuple[Kind, int]], query: str, *,
                    prefix: bool = False, recheck: bool = True) -> list[list[Hit]]:
        """`search(kind, query, limit=limit, prefix=prefix)` for each (kind, limit) of
        `requests`, in that order, in one call (the Top tab asks for four kinds).
        `recheck=False`: the caller read `generation()` just before, which already looked
        for writes that became visible since; the engine need not look again (the answer
        is then that generation's, or a later one's). An engine that always reads the
        current state ignores it."""
        ...

    def generation(self) -> int | None:
        """A number that changes whenever a write became visible to this instance's
        searches (another process's included) and stays the same otherwise; None when the
        engine cannot tell cheaply. While it is unchanged, the same search answers the
        same hits, so callers may keep them (`services.retrieval`'s candidate cache); None
        keeps nothing."""
        ...

    def count(self, kind: Kind) -> int: ...

    def ids(self, kind: Kind) -> set[int]:
        """Every id of `kind` the index holds (a per-kind rebuild removes those that are no
        longer candidates)."""
        ...

    def clear(self) -> None:
        """Drop every document (a rebuild starts from here)."""
        ...

    def is_built(self) -> bool:
        """False until `mark_built` after a complete rebuild (first start rebuilds)."""
        ...

    def mark_built(self) -> None: ...
