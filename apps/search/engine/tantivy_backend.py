"""The in-process default engine: a tantivy index in a local directory.

Many processes read it, one writes at a time: `apply` and `clear` open tantivy's writer only
while holding an exclusive `flock` on a lock file beside the index (readers never take it),
commit, and return once the commit is on disk. Readers check `meta.json` (tantivy replaces
it atomically on every commit) before each search and reload when it changed, so a returned
`apply` is visible to the next search in every process. Texts are normalised and tokenised
by `engine.text` before tantivy sees them (a whitespace tokenizer splits our tokens)."""

from __future__ import annotations

import fcntl
import itertools
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import tantivy

from .base import Hit, Kind, SearchDoc
from .text import QueryPlan, QueryTerm, index_tokens, plan_query

# `generation` numbers: unique within the process, across instances.
_GENERATIONS = itertools.count(1)
# Bump when the schema or the tokens change: a new version starts empty (not built), so the
# first start rebuilds it.
SCHEMA_VERSION = 2
WRITER_HEAP = 64_000_000
LOCK_TIMEOUT = 120.0
_TOKENIZER = "swipeme_ws"

logger = logging.getLogger(__name__)

# Which indexed field (and so which boost) each SearchDoc field goes to; names are also
# indexed with their words written together (engine.text.index_tokens(joined=True)).
NAME_FIELDS = frozenset({"handle", "username", "display_name", "title", "name"})
META_FIELDS = frozenset({"hashtags", "sound", "artist", "tags"})
TIERS: tuple[tuple[str, float], ...] = (("name", 3.0), ("meta", 1.5), ("body", 1.0))
EXACT_BONUS = 1.0  # a term as typed beats the same term reached with a typo
# Name words are also indexed by their first 1..NAME_PREFIX_CHARS characters, so typing a
# short prefix is one posting list, not a union over every word it starts (the slow case of
# as-you-type over a million handles). Longer prefixes, and captions from 3 characters, use
# tantivy's prefix automaton.
NAME_PREFIX_CHARS = 12
MIN_AUTOMATON_PREFIX = 3
# A query word that the field already holds in at least this many documents, as typed, is
# not also looked up with typos there: the user meant that word, and a common word's typo
# neighbours ("musica", "músicas", ...) are long posting lists that made fuzzy caption
# queries cost 60-130 ms over a million captions. Rarer words (and words not in the field,
# the real typos) keep their typo budget. Likewise a prefix that starts terms of the field
# as typed is not also expanded with typos.
FUZZY_SKIP_DOC_FREQ = 50


# The tiers each kind's documents fill (SearchDoc's documented fields: an account's handle
# and display name, a video's caption, hashtags and sound, a sound's title and artist, a
# hashtag's name). A search looks only there: a video query's fuzzy words walked the name
# tier's dictionary of a million handles only to have the kind filter drop every match.
KIND_TIERS: dict[Kind, tuple[str, ...]] = {
    "account": ("name",),
    "video": ("meta", "body"),
    "sound": ("name", "meta"),
    "hashtag": ("name",),
}


def tier_of(field_name: str, kind: Kind | None = None) -> str:
    """The tier a field is indexed in; a field a kind does not usually have goes to that
    kind's last tier, so every field stays findable among the tiers its kind searches."""
    tier = ("name" if field_name in NAME_FIELDS else "meta" if field_name in META_FIELDS
            else "body")
    if kind is not None and tier not in KIND_TIERS[kind]:
        return KIND_TIERS[kind][-1]
    return tier


def popularity_weight(popularity: float) -> float:
    """tantivy multiplies a score by log2(2 + w): map popularity to w so that factor runs
    from 1.0 to 1.1 (a tie-breaker; the service does the real ranking)."""
    share = min(1.0, math.log10(1.0 + max(0.0, popularity)) / 7.0)
    return float(2.0 ** (1.0 + 0.1375 * share) - 2.0)


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("key", tokenizer_name="raw", index_option="basic")
    sb.add_text_field("kind", tokenizer_name="raw", index_option="basic")
    sb.add_integer_field("id", stored=True, indexed=True, fast=True)
    sb.add_float_field("weight", fast=True)
    for tier, _boost in TIERS:
        sb.add_text_field(tier, tokenizer_name=_TOKENIZER, index_option="freq")
    sb.add_text_field("name_prefix", tokenizer_name=_TOKENIZER, index_option="basic")
    return sb.build()


class TantivyBackend:
    name = "tantivy"
    in_process = True

    def __init__(self, path: Path) -> None:
        self.root = Path(path)
        self.dir = self.root / f"v{SCHEMA_VERSION}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self._lock_path = self.root / "writer.lock"
        self._built_path = self.dir / "built"
        self._schema = _schema()
        self._index = self._open()
        self._index.register_tokenizer(
            _TOKENIZER, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
        self._index.config_reader(reload_policy="Manual")
        self._seen_meta: bytes | None = self._meta_stamp()
        self._generation = next(_GENERATIONS)  # a new one at each reload (`generation`)
        self._reload_lock = threading.Lock()

    def _open(self) -> tantivy.Index:
        """The index, created on first start (several processes may get here at once; one
        creates it, under the writer lock). A corrupt index (a torn disk, a copied half
        directory) is thrown away and started again empty and unbuilt: PostgreSQL is the
        source of truth, and the drain's first-start rebuild refills it, so a web worker
        never fails to start and searches keep answering meanwhile."""
        if tantivy.Index.exists(str(self.dir)):
            try:
                return tantivy.Index(self._schema, path=str(self.dir), reuse=True)
            except (ValueError, OSError):
                logger.exception("search index unreadable, starting it again: %s", self.dir)
        with self._locked():
            try:
                index = tantivy.Index(self._schema, path=str(self.dir), reuse=True)
            except (ValueError, OSError):  # still corrupt (nobody replaced it meanwhile)
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir.mkdir(parents=True, exist_ok=True)
                index = tantivy.Index(self._schema, path=str(self.dir), reuse=True)
            self._drop_old_versions()
            return index

    # -- writing ------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The cross-process writer lock (an exclusive flock: per open file, so two threads
        of one process exclude each other too; released if the process dies)."""
        with open(self._lock_path, "a+") as lock_file:
            deadline = time.monotonic() + LOCK_TIMEOUT
            while True:
                try:
                    fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError as busy:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"search index writer lock busy: {self._lock_path}") from busy
                    time.sleep(0.02)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    @contextmanager
    def _writer(self) -> Iterator[tantivy.IndexWriter]:
        """tantivy's writer, under the cross-process lock; committed on a clean exit."""
        with self._locked():
            writer = self._index.writer(heap_size=WRITER_HEAP, num_threads=1)
            try:
                yield writer
            except BaseException:
                writer.rollback()
                raise
            writer.commit()
            writer.wait_merging_threads()
        self._refresh(force=True)

    def _document(self, doc: SearchDoc) -> tantivy.Document:
        out = tantivy.Document()
        out.add_text("key", f"{doc.kind}:{doc.id}")
        out.add_text("kind", doc.kind)
        out.add_integer("id", int(doc.id))
        out.add_float("weight", popularity_weight(doc.popularity))
        tiers: dict[str, list[str]] = {tier: [] for tier, _ in TIERS}
        for field_name, text in doc.fields.items():
            tier = tier_of(field_name, doc.kind)
            tiers[tier].extend(index_tokens(text or "", joined=tier == "name"))
        for tier, tokens in tiers.items():
            if tokens:
                out.add_text(tier, " ".join(tokens))
        prefixes = {token[:n] for token in tiers["name"]
                    for n in range(1, min(len(token), NAME_PREFIX_CHARS) + 1)}
        if prefixes:
            out.add_text("name_prefix", " ".join(sorted(prefixes)))
        return out

    def apply(self, *, upserts: Sequence[SearchDoc] = (),
              deletes: Sequence[tuple[Kind, int]] = ()) -> None:
        if not upserts and not deletes:
            return
        with self._writer() as writer:
            for kind, object_id in deletes:
                writer.delete_documents_by_term("key", f"{kind}:{object_id}")
            for doc in upserts:
                writer.delete_documents_by_term("key", f"{doc.kind}:{doc.id}")
                writer.add_document(self._document(doc))

    def clear(self) -> None:
        self._built_path.unlink(missing_ok=True)
        with self._writer() as writer:
            writer.delete_all_documents()

    def is_built(self) -> bool:
        return self._built_path.exists()

    def mark_built(self) -> None:
        tmp = self._built_path.with_suffix(".tmp")
        tmp.write_text(str(time.time()))
        os.replace(tmp, self._built_path)

    # -- reading ------------------------------------------------------------------------

    def _meta_stamp(self) -> bytes | None:
        """meta.json's content (a few kB, replaced atomically by each commit; it carries
        the commit's opstamp). Compared whole: an inode number and a coarse mtime can
        repeat across two quick commits."""
        try:
            return (self.dir / "meta.json").read_bytes()
        except FileNotFoundError:
            return None

    def _refresh(self, *, force: bool = False) -> None:
        """Reload the reader when another process (or this one) committed since."""
        stamp = self._meta_stamp()
        if not force and stamp == self._seen_meta:
            return
        with self._reload_lock:
            self._index.reload()
            self._seen_meta = stamp
            self._generation = next(_GENERATIONS)

    def generation(self) -> int:
        """Changes at every reload of the reader, i.e. whenever a commit (of any process)
        became visible here: the meta.json check each search makes anyway. Numbers are
        unique in the process across instances (a reopened index never repeats one)."""
        self._refresh()
        return self._generation

    def _searcher(self) -> tantivy.Searcher:
        self._refresh()
        return self._index.searcher()

    def _kind_filter(self, kind: Kind) -> tantivy.Query:
        return tantivy.Query.const_score_query(
            tantivy.Query.term_query(self._schema, "kind", kind), 0.0)

    def count(self, kind: Kind) -> int:
        result = self._searcher().search(self._kind_filter(kind), limit=1, count=True)
        return int(getattr(result, "count", 0) or 0)  # the stub lacks `count`

    def ids(self, kind: Kind) -> set[int]:
        searcher = self._searcher()
        total = self.count(kind)
        if not total:
            return set()
        result = searcher.search(self._kind_filter(kind), limit=total, count=False)
        values = searcher.fast_field_values("id", [address for _s, address in result.hits])
        return {int(value) for value in values if value is not None}

    @staticmethod
    def _typos_for(searcher: tantivy.Searcher, term: QueryTerm, field_name: str) -> int:
        """The typo budget to spend on `term` in this field (FUZZY_SKIP_DOC_FREQ): none for
        a word the field holds often as typed, or a prefix that starts its terms as typed."""
        if not term.typos:
            return 0
        if searcher.doc_freq(field_name, term.text) >= FUZZY_SKIP_DOC_FREQ:
            return 0
        if term.prefix and searcher.terms_with_prefix(field_name, term.text, limit=1):
            return 0
        return term.typos

    def _term_query(self, searcher: tantivy.Searcher, term: QueryTerm,
                    tiers: Sequence[tuple[str, float]], *,
                    fuzzy: Collection[QueryTerm]) -> tantivy.Query:
        schema = self._schema
        should = tantivy.Occur.Should
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for field_name, boost in tiers:
            exact = tantivy.Query.term_query(schema, field_name, term.text)
            clauses.append((should, tantivy.Query.boost_query(exact, boost)))
            clauses.append((should, tantivy.Query.const_score_query(exact, boost * EXACT_BONUS)))
            typos = self._typos_for(searcher, term, field_name) if term in fuzzy else 0
            if typos:
                near = tantivy.Query.fuzzy_term_query(
                    schema, field_name, term.text, distance=typos)
                clauses.append((should, tantivy.Query.const_score_query(near, boost)))
            if term.prefix and self._automaton_prefix(term, field_name, typos):
                pre = tantivy.Query.fuzzy_term_query(
                    schema, field_name, term.text, distance=typos, prefix=True)
                clauses.append((should, tantivy.Query.const_score_query(pre, boost * 0.75)))
            if term.prefix and field_name == "name" and len(term.text) <= NAME_PREFIX_CHARS:
                pre = tantivy.Query.term_query(schema, "name_prefix", term.text)
                clauses.append((should, tantivy.Query.const_score_query(pre, boost * 0.75)))
        return tantivy.Query.boolean_query(clauses)

    @staticmethod
    def _automaton_prefix(term: QueryTerm, field_name: str, typos: int) -> bool:
        """Whether the prefix automaton is needed: typos in the prefix, a name prefix longer
        than `name_prefix` holds, or a caption/hashtag prefix long enough to mean something."""
        if typos:
            return True
        if field_name == "name":
            return len(term.text) > NAME_PREFIX_CHARS
        return len(term.text) >= MIN_AUTOMATON_PREFIX

    def _plan_query(self, searcher: tantivy.Searcher, kind: Kind, plan: QueryPlan, *,
                    fuzzy: Collection[QueryTerm]) -> tantivy.Query:
        tiers = [t for t in TIERS if t[0] in KIND_TIERS[kind]]
        name_tier = [t for t in tiers if t[0] == "name"]
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        for term in plan.terms:
            # While typing "quinoa salad re", a last word of one or two letters starts too
            # many caption words to expand (one posting list per word): beside other words
            # it only ranks (as a word or a name prefix), it does not filter.
            optional = (term.prefix and len(plan.terms) > 1 and not name_tier
                        and len(term.text) < MIN_AUTOMATON_PREFIX)
            clauses.append((tantivy.Occur.Should if optional else tantivy.Occur.Must,
                            self._term_query(searcher, term, tiers, fuzzy=fuzzy)))
        every = tantivy.Query.boolean_query(clauses)
        if plan.joined is None or not name_tier:
            return every
        joined = self._term_query(searcher, plan.joined, name_tier, fuzzy=fuzzy)
        return tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, every), (tantivy.Occur.Should, joined)])

    def search(self, kind: Kind, query: str, *, limit: int, prefix: bool = False) -> list[Hit]:
        return self.search_many([(kind, limit)], query, prefix=prefix)[0]

    def search_many(self, requests: Sequence[tuple[Kind, int]], query: str, *,
                    prefix: bool = False, recheck: bool = True) -> list[list[Hit]]:
        """`search` for each (kind, limit), on one searcher: the query is planned and the
        reader checked for other processes' commits (a read of meta.json) once, or not at
        all with `recheck=False` (the candidate cache's miss: its `generation()` call has
        just made that check)."""
        plan = plan_query(query, prefix=prefix)
        if plan.empty:
            return [[] for _ in requests]
        searcher = self._searcher() if recheck else self._index.searcher()
        return [self._search(searcher, kind, plan, limit) if limit > 0 else []
                for kind, limit in requests]

    def _search(self, searcher: tantivy.Searcher, kind: Kind, plan: QueryPlan,
                limit: int) -> list[Hit]:
        # First every word as typed (prefixes expanded, no typos: a few posting lists,
        # ~1 ms). When documents hold every word as typed, the user typed what they meant
        # and that is the answer, as FUZZY_SKIP_DOC_FREQ already decides for a common word:
        # the typo lookups (a Levenshtein automaton over each field's dictionary, 2-17 ms
        # per word and field over a million captions) were most of a search's time, and
        # their matches rank below matches as typed anyway (EXACT_BONUS). When nothing
        # holds the words as typed, first only the words no field holds get their typo
        # budget (the usual typo: one word misspelt, the others right), then, if that
        # finds nothing either, every word (a typo that made another real word).
        result = self._run(searcher, kind, plan, limit, fuzzy=())
        tiers = KIND_TIERS[kind]
        joined = plan.joined if "name" in tiers else None  # names only
        budgeted = [term for term in (*plan.terms, joined) if term and term.typos]
        if not result.hits and budgeted:
            unknown = [term for term in budgeted if not self._holds(searcher, tiers, term)]
            if unknown and len(unknown) < len(budgeted):
                result = self._run(searcher, kind, plan, limit, fuzzy=frozenset(unknown))
            if not result.hits:
                result = self._run(searcher, kind, plan, limit, fuzzy=frozenset(budgeted))
        if not result.hits:
            return []
        addresses = [address for _score, address in result.hits]
        ids = searcher.fast_field_values("id", addresses)
        return [Hit(id=int(object_id), score=float(score))
                for (score, _a), object_id in zip(result.hits, ids, strict=True)
                if object_id is not None]

    @staticmethod
    def _holds(searcher: tantivy.Searcher, tiers: Sequence[str], term: QueryTerm) -> bool:
        """Whether a field of these tiers holds the word as typed (or, while typing, a word
        it starts), whatever kind holds it."""
        for field_name in tiers:
            if searcher.doc_freq(field_name, term.text):
                return True
            if term.prefix and searcher.terms_with_prefix(field_name, term.text, limit=1):
                return True
        return False

    def _run(self, searcher: tantivy.Searcher, kind: Kind, plan: QueryPlan, limit: int, *,
             fuzzy: Collection[QueryTerm]) -> tantivy.SearchResult:
        q = tantivy.Query.boolean_query([
            (tantivy.Occur.Must, self._kind_filter(kind)),
            (tantivy.Occur.Must, self._plan_query(searcher, kind, plan, fuzzy=fuzzy)),
        ])
        return searcher.search(q, limit=limit, count=False, weight_by_field="weight")

    # -- housekeeping -------------------------------------------------------------------

    def _drop_old_versions(self) -> None:
        """Indexes of an older schema are useless once this one exists (rebuilt from
        PostgreSQL); remove them so they don't fill the disk."""
        for child in self.root.glob("v*"):
            if child.is_dir() and child != self.dir and child.name[1:].isdigit():
                shutil.rmtree(child, ignore_errors=True)
