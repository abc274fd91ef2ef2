"""The PostgreSQL engine: full text over `SearchDocument.tsv` plus a trigram-indexed word
list (`SearchLexicon`) for typos.

Both sides use `engine.text` tokens and bypass PostgreSQL's parser (the tsvector and
tsquery are written as literals), so words, accents and CJK bigrams are the same as in
tantivy's index. A query word with a typo budget is looked up in the lexicon (pg_trgm `%`
with a threshold low enough for its length and budget, then the exact edit distance in
Python) and its variants join the tsquery as alternatives; the last word while typing is
also a `:*` prefix (and, from 5 characters, a prefix with typos found via `<%`). Writes are
one transaction: committed, hence visible to every process, when `apply` returns."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from django.db import connections, transaction
from django.db.backends.utils import CursorWrapper

from apps.search.models import SearchDocument, SearchEngineState, SearchLexicon

from .base import Hit, Kind, SearchDoc
from .tantivy_backend import tier_of
from .text import (
    QueryPlan,
    QueryTerm,
    clean,
    edit_distance,
    index_tokens,
    is_unspaced,
    plan_query,
    prefix_distance,
)

_WEIGHT = {"name": "A", "meta": "B", "body": "C"}
# ts_rank weights {D, C, B, A}: names 3x, hashtags/sounds 1.5x captions (as tantivy's boosts).
_RANK_WEIGHTS = "{0.1, 0.33, 0.5, 1.0}"
_MAX_POSITION = 16_383  # tsvector positions stop there
_MAX_POSITIONS_PER_LEXEME = 200
_LEXICON_MIN_CHARS = 4  # shorter words are never a typo target (5+ characters, minus one)
_MAX_VARIANTS = 50  # typo variants of one query word kept (closest first)
_CANDIDATES = 400  # lexicon rows looked at per query word


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(doc: SearchDoc) -> tuple[str, str]:
    """(tsvector literal, all tokens) of a document."""
    positions: dict[str, list[str]] = {}
    all_tokens: list[str] = []
    pos = 0
    for field_name, text in doc.fields.items():
        tier = tier_of(field_name)
        tokens = index_tokens(text or "", joined=tier == "name")
        all_tokens.extend(tokens)
        for token in tokens:
            pos = min(pos + 1, _MAX_POSITION)
            entry = positions.setdefault(token, [])
            if len(entry) < _MAX_POSITIONS_PER_LEXEME:
                entry.append(f"{pos}{_WEIGHT[tier]}")
        pos = min(pos + 1, _MAX_POSITION)  # fields do not run into each other
    literal = " ".join(f"{_quote(t)}:{','.join(p)}" for t, p in positions.items())
    return literal, " ".join(all_tokens)


def trigram_threshold(length: int, typos: int, *, worst_case: bool = True) -> float:
    """A similarity that every word within `typos` edits of a `length`-character word
    reaches: pg_trgm gives a word length+1 trigrams and one edit changes at most 4 of
    them (a swap; 3 for a typical substitution), so at least length+1-4*typos are shared."""
    own = length + 1
    shared = max(1, own - (4 if worst_case else 3) * typos)
    return max(0.05, 0.9 * shared / (own + own + typos - shared))


def _is_lexicon_word(token: str) -> bool:
    return len(token) >= _LEXICON_MIN_CHARS and not is_unspaced(token)


class PostgresBackend:
    name = "postgres"
    in_process = False

    def __init__(self, using: str = "default") -> None:
        self.using = using
        self._docs = SearchDocument._meta.db_table
        self._lexicon = SearchLexicon._meta.db_table

    # -- writing ------------------------------------------------------------------------

    def apply(self, *, upserts: Sequence[SearchDoc] = (),
              deletes: Sequence[tuple[Kind, int]] = ()) -> None:
        if not upserts and not deletes:
            return
        # Last write of a key wins; rows are written in key order so two concurrent
        # writers lock them in the same order (no deadlock).
        latest = {(doc.kind, int(doc.id)): doc for doc in upserts}
        gone = sorted({(kind, int(object_id)) for kind, object_id in deletes} - latest.keys())
        rows = []
        words: set[str] = set()
        for key in sorted(latest):
            doc = latest[key]
            literal, tokens = tsvector_literal(doc)
            words.update(t for t in tokens.split() if _is_lexicon_word(t))
            created = (datetime.fromtimestamp(doc.created_at, UTC)
                       if doc.created_at and doc.created_at > 0 else None)
            rows.append((doc.kind, int(doc.id), _json(doc.fields), tokens, literal,
                         float(max(0.0, doc.popularity)), created))
        with transaction.atomic(using=self.using), connections[self.using].cursor() as cur:
            if gone:
                for kind, ids in _by_kind(gone):
                    cur.execute(f"DELETE FROM {self._docs} WHERE kind = %s "  # noqa: S608
                                "AND object_id = ANY(%s)", [kind, ids])
            if words:
                cur.execute(f"INSERT INTO {self._lexicon} (term) SELECT unnest(%s::text[]) "
                            "ORDER BY 1 ON CONFLICT DO NOTHING", [sorted(words)])
            for start in range(0, len(rows), 500):
                chunk = rows[start:start + 500]
                values = ", ".join(["(%s, %s, %s::jsonb, %s, %s::tsvector, %s, %s)"] * len(chunk))
                cur.execute(
                    f"INSERT INTO {self._docs} (kind, object_id, fields, normalized, tsv, "  # noqa: S608
                    f"popularity, created_at) VALUES {values} "
                    "ON CONFLICT (kind, object_id) DO UPDATE SET fields = EXCLUDED.fields, "
                    "normalized = EXCLUDED.normalized, tsv = EXCLUDED.tsv, "
                    "popularity = EXCLUDED.popularity, created_at = EXCLUDED.created_at",
                    [v for row in chunk for v in row])

    def clear(self) -> None:
        with transaction.atomic(using=self.using), connections[self.using].cursor() as cur:
            cur.execute(f"DELETE FROM {SearchEngineState._meta.db_table} WHERE backend = %s",  # noqa: S608
                        [self.name])
            cur.execute(f"DELETE FROM {self._docs}")  # noqa: S608
            cur.execute(f"DELETE FROM {self._lexicon}")  # noqa: S608

    def generation(self) -> int | None:
        """Unknown without a statement per search: nothing of its answers is kept."""
        return None

    def is_built(self) -> bool:
        return SearchEngineState.objects.using(self.using).filter(
            backend=self.name, built_at__isnull=False).exists()

    def mark_built(self) -> None:
        SearchEngineState.objects.using(self.using).update_or_create(
            backend=self.name, defaults={"built_at": datetime.now(UTC)})

    # -- reading ------------------------------------------------------------------------

    def count(self, kind: Kind) -> int:
        return SearchDocument.objects.using(self.using).filter(kind=kind).count()

    def ids(self, kind: Kind) -> set[int]:
        return set(SearchDocument.objects.using(self.using).filter(kind=kind)
                   .values_list("object_id", flat=True))

    def _variants(self, cur: CursorWrapper,
                  terms: Iterable[QueryTerm]) -> dict[QueryTerm, list[str]]:
        """Lexicon words within each term's typo budget (for a prefix term: within the
        budget of one of their prefixes), closest first. A first pass uses the similarity
        of typical typos (cheap: few candidates); a term that found neither itself nor a
        variant is looked up again with the worst case's lower threshold."""
        wanted = [t for t in terms if t.typos]
        found: dict[QueryTerm, list[tuple[int, str]]] = {t: [] for t in wanted}
        for worst_case in (False, True):
            if not wanted:
                break
            seen_itself = self._lookup(cur, wanted, found, worst_case=worst_case)
            wanted = [t for t in wanted if not found[t] and t not in seen_itself]
        return {t: [w for _d, w in sorted(v)[:_MAX_VARIANTS]] for t, v in found.items()}

    def _lookup(self, cur: CursorWrapper, wanted: Sequence[QueryTerm],
                found: dict[QueryTerm, list[tuple[int, str]]], *,
                worst_case: bool) -> set[QueryTerm]:
        """One trigram lookup for all `wanted` terms; adds the variants to `found` and
        answers the terms whose own word (or, typing, a word it starts) is in the lexicon."""
        parts: list[str] = []
        params: list[str | int] = []
        for i, term in enumerate(wanted):
            if term.prefix:  # word_similarity: the term against the best part of a word
                parts.append(f"(SELECT {i} AS q, term FROM {self._lexicon} "  # noqa: S608
                             f"WHERE %s <%% term ORDER BY %s <<-> term LIMIT {_CANDIDATES})")
                params += [term.text, term.text]
            else:
                parts.append(f"(SELECT {i} AS q, term FROM {self._lexicon} "  # noqa: S608
                             f"WHERE term %% %s AND length(term) BETWEEN %s AND %s "
                             f"ORDER BY term <-> %s LIMIT {_CANDIDATES})")
                params += [term.text, len(term.text) - term.typos, len(term.text) + term.typos,
                           term.text]
        threshold = min(trigram_threshold(len(t.text), t.typos, worst_case=worst_case)
                        for t in wanted)
        cur.execute("SELECT set_config('pg_trgm.similarity_threshold', %s, true), "
                    "set_config('pg_trgm.word_similarity_threshold', %s, true)",
                    [str(threshold), str(threshold)])
        cur.execute(" UNION ALL ".join(parts), params)
        seen_itself: set[QueryTerm] = set()
        for i, word in cur.fetchall():
            term = wanted[i]
            distance = (prefix_distance(term.text, word, term.typos) if term.prefix
                        else edit_distance(term.text, word, term.typos))
            if distance == 0:  # the word itself, or a prefix match (:* finds those)
                seen_itself.add(term)
            elif distance <= term.typos:
                found[term].append((distance, word))
        return seen_itself

    @staticmethod
    def _term_tsquery(term: QueryTerm, variants: Sequence[str], *, weights: str = "",
                      exact_only: bool = False) -> str:
        options = [f"{_quote(term.text)}{':' + weights if weights else ''}"]
        if not exact_only:
            if term.prefix:
                options.append(f"{_quote(term.text)}:*{weights}")
            options += [f"{_quote(v)}{':' + weights if weights else ''}" for v in variants]
        return "(" + " | ".join(options) + ")"

    def _tsqueries(self, plan: QueryPlan, variants: dict[QueryTerm, list[str]]) -> tuple[str, str]:
        """(the matching tsquery, the same without typos and prefixes: ranks exact words up)."""
        full = " & ".join(self._term_tsquery(t, variants.get(t, [])) for t in plan.terms)
        exact = " & ".join(self._term_tsquery(t, [], exact_only=True) for t in plan.terms)
        if plan.joined is not None:
            joined = plan.joined
            full = f"({full}) | {self._term_tsquery(joined, variants.get(joined, []), weights='A')}"
            exact = f"({exact}) | {self._term_tsquery(joined, [], weights='A', exact_only=True)}"
        return full, exact

    def search_many(self, requests: Sequence[tuple[Kind, int]], query: str, *,
                    prefix: bool = False, recheck: bool = True) -> list[list[Hit]]:
        del recheck  # every statement reads the current state
        return [self.search(kind, query, limit=limit, prefix=prefix) for kind, limit in requests]

    def search(self, kind: Kind, query: str, *, limit: int, prefix: bool = False) -> list[Hit]:
        plan = plan_query(query, prefix=prefix)
        if plan.empty or limit <= 0:
            return []
        terms = list(plan.terms) + ([plan.joined] if plan.joined else [])
        with transaction.atomic(using=self.using), connections[self.using].cursor() as cur:
            variants = self._variants(cur, terms)
            full, exact = self._tsqueries(plan, variants)
            cur.execute(
                f"SELECT object_id, (ts_rank(%s::real[], tsv, q.matching, 1) "  # noqa: S608
                "  + 2 * ts_rank(%s::real[], tsv, q.exact, 1)) "
                "  * (1 + 0.1 * LEAST(1, log(1 + popularity) / 7)) AS score "
                f"FROM {self._docs}, (SELECT %s::tsquery AS matching, %s::tsquery AS exact) q "
                "WHERE kind = %s AND tsv @@ q.matching "
                "ORDER BY score DESC, object_id LIMIT %s",
                [_RANK_WEIGHTS, _RANK_WEIGHTS, full, exact, kind, int(limit)])
            return [Hit(id=int(object_id), score=float(score))
                    for object_id, score in cur.fetchall()]


def _json(fields: Mapping[str, str]) -> str:
    return json.dumps({k: clean(v or "") for k, v in fields.items()}, ensure_ascii=False)


def _by_kind(keys: Sequence[tuple[Kind, int]]) -> list[tuple[Kind, list[int]]]:
    out: dict[Kind, list[int]] = {}
    for kind, object_id in keys:
        out.setdefault(kind, []).append(object_id)
    return list(out.items())
