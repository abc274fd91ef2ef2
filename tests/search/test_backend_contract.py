"""The contract every search engine passes (apps/search/engine/base.py `SearchBackend`).

It defines the product's matching rules: a new engine (OpenSearch, Meilisearch...) is added
to BACKENDS here and must pass all of it before the setting may point at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from apps.search.engine import BACKENDS
from apps.search.engine.base import KINDS, Hit, Kind, SearchBackend, SearchDoc
from apps.search.engine.postgres_backend import PostgresBackend
from apps.search.engine.tantivy_backend import TantivyBackend

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]

Factory = Callable[[], SearchBackend]


@pytest.fixture(params=BACKENDS)
def make_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Factory:
    """Opens (another instance of) the backend on this test's own, initially empty index."""
    index_dir = tmp_path / "index"

    def make() -> SearchBackend:
        if request.param == "tantivy":
            return TantivyBackend(index_dir)
        return PostgresBackend()

    return make


@pytest.fixture
def backend(make_backend: Factory) -> SearchBackend:
    return make_backend()


ACCOUNTS = [
    SearchDoc("account", 1, {"handle": "charlidamelio", "display_name": "Charli D'Amelio"},
              popularity=150_000_000),
    SearchDoc("account", 2, {"handle": "charlie_puth", "display_name": "Charlie Puth"}),
    SearchDoc("account", 3, {"handle": "beyonce", "display_name": "Beyoncé"}),
    SearchDoc("account", 4, {"handle": "cat", "display_name": "Cat"}),
    SearchDoc("account", 5, {"handle": "ecole_paris", "display_name": "École de Paris"}),
    SearchDoc("account", 6, {"handle": "tokyo_tower", "display_name": "東京タワー"}),
    SearchDoc("account", 7, {"handle": "mohamed", "display_name": "مُحَمَّد أحمد"}),
    SearchDoc("account", 8, {"handle": "shalom", "display_name": "שלום עולם"}),
]
VIDEOS = [
    SearchDoc("video", 10, {"caption": "我的猫很可爱", "hashtags": "猫"}),
    SearchDoc("video", 11, {"caption": "今日は東京タワーに行きました"}),
    SearchDoc("video", 12, {"caption": "مرحبا بكم في المدرسة", "hashtags": "مدرسة"}),
    SearchDoc("video", 13, {"caption": "Une journée à l'école"}),
    SearchDoc("video", 14, {"caption": "my guitar solo", "hashtags": "music"}),
    SearchDoc("video", 15, {"caption": "an extraordinary sunset", "hashtags": "beautiful"}),
    SearchDoc("video", 16, {"caption": "sunshine pizza party"}),
    SearchDoc("video", 17, {"caption": "ガギグが好き"}),
    SearchDoc("video", 18, {"caption": "カキクの歌"}),
    SearchDoc("video", 19, {"caption": "안녕하세요 여러분"}),
]
SOUNDS = [SearchDoc("sound", 30, {"title": "Bohemian Rhapsody", "artist": "Queen"})]
HASHTAGS = [SearchDoc("hashtag", 40, {"name": "dance"}),
            SearchDoc("hashtag", 41, {"name": "dancer"})]


@pytest.fixture
def catalogue(backend: SearchBackend) -> SearchBackend:
    backend.apply(upserts=ACCOUNTS + VIDEOS + SOUNDS + HASHTAGS)
    return backend


def ids(hits: list[Hit]) -> list[int]:
    return [h.id for h in hits]


def find(backend: SearchBackend, kind: Kind, query: str, *, prefix: bool = False) -> list[int]:
    hits = backend.search(kind, query, limit=20, prefix=prefix)
    assert all(isinstance(h, Hit) for h in hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True), "best first"
    return ids(hits)


# --- matching -----------------------------------------------------------------------------

def test_search_many_answers_each_kind_as_search_does(catalogue: SearchBackend) -> None:
    # the Top tab asks for four kinds at once: the same hits as four searches, in order
    requests: list[tuple[Kind, int]] = [("video", 20), ("account", 3), ("hashtag", 0),
                                        ("sound", 5)]
    for query, prefix in (("dance", False), ("danc", True), ("charli", False),
                          ("sunset", False), ("guitr", False), ("", False), ("!!", True)):
        assert catalogue.search_many(requests, query, prefix=prefix) == [
            catalogue.search(kind, query, limit=limit, prefix=prefix)
            for kind, limit in requests], (query, prefix)
    assert catalogue.search_many([], "dance") == []
    assert [ids(hits) for hits in catalogue.search_many(
        [("hashtag", 1), ("account", 20)], "charli")] == [[], find(catalogue, "account",
                                                                   "charli")]


def test_exact_words_and_kinds(catalogue: SearchBackend) -> None:
    assert find(catalogue, "account", "beyonce") == [3]
    assert find(catalogue, "video", "guitar") == [14]
    assert find(catalogue, "sound", "queen") == [30]
    assert find(catalogue, "sound", "bohemian rhapsody") == [30]
    assert find(catalogue, "hashtag", "dance")[0] == 40
    assert find(catalogue, "video", "beyonce") == []  # another kind's document


def test_every_query_word_must_match(catalogue: SearchBackend) -> None:
    assert find(catalogue, "video", "guitar solo") == [14]
    assert find(catalogue, "video", "guitar sunset") == []


def test_prefix_as_you_type(catalogue: SearchBackend) -> None:
    assert set(find(catalogue, "account", "c", prefix=True)) == {1, 2, 4}
    assert set(find(catalogue, "account", "ch", prefix=True)) == {1, 2}
    assert set(find(catalogue, "account", "char", prefix=True)) == {1, 2}
    assert find(catalogue, "account", "beyo", prefix=True) == [3]
    assert find(catalogue, "video", "my gui", prefix=True) == [14]
    assert find(catalogue, "sound", "bohemian rha", prefix=True) == [30]
    # Only the last word is a prefix, and only in prefix mode.
    assert find(catalogue, "account", "beyo") == []
    assert find(catalogue, "video", "gui solo", prefix=True) == []


def test_one_typo_from_five_characters(catalogue: SearchBackend) -> None:
    assert find(catalogue, "video", "guitr") == [14]  # deletion
    assert find(catalogue, "video", "gutiar") == [14]  # swap of neighbours
    assert find(catalogue, "video", "pizzq") == [16]  # substitution, 5 characters
    assert find(catalogue, "account", "beyonse") == [3]
    assert find(catalogue, "sound", "qeen") == []  # 4 characters: no typo
    # 5-8 characters: one typo, not two.
    assert find(catalogue, "video", "sunshyme") == []
    assert find(catalogue, "video", "guiatx") == []


def test_two_typos_from_nine_characters(catalogue: SearchBackend) -> None:
    assert find(catalogue, "video", "extrordinery") == [15]
    assert find(catalogue, "video", "baeutifol") == [15]  # swap + substitution
    assert find(catalogue, "video", "extrxordxnxry") == []  # three


def test_no_typo_under_five_characters(catalogue: SearchBackend) -> None:
    assert find(catalogue, "account", "cat") == [4]
    assert find(catalogue, "account", "cot") == []
    assert find(catalogue, "video", "piza") == []


def test_exact_ranks_above_a_typo(catalogue: SearchBackend) -> None:
    hits = find(catalogue, "account", "charlie")
    assert hits[0] == 2  # "charlie" (Puth) as typed, above "charli" one typo away
    assert find(catalogue, "hashtag", "dancer")[0] == 41


def test_names_written_apart_find_the_handle(catalogue: SearchBackend) -> None:
    """"charli damelo" finds @charlidamelio: the words joined are one typo away."""
    assert find(catalogue, "account", "charli damelo")[0] == 1
    assert find(catalogue, "account", "charli damelio")[0] == 1
    assert find(catalogue, "account", "charlidamelio")[0] == 1
    assert find(catalogue, "account", "charli d'amelio")[0] == 1
    assert find(catalogue, "account", "charli dam", prefix=True)[0] == 1
    assert find(catalogue, "account", "@charli_damelio")[0] == 1
    assert find(catalogue, "account", "charlie puth")[0] == 2
    assert find(catalogue, "account", "charlieputh")[0] == 2


def test_accents_and_case_are_folded(catalogue: SearchBackend) -> None:
    assert find(catalogue, "account", "BEYONCÉ") == [3]
    assert find(catalogue, "account", "Beyoncé") == [3]
    assert find(catalogue, "video", "ÉCOLE") == [13]
    assert find(catalogue, "video", "ecole") == [13]
    assert find(catalogue, "video", "journee") == [13]
    assert find(catalogue, "account", "ecole de paris")[0] == 5
    assert find(catalogue, "account", "ＢＥＹＯＮＣＥ") == [3]  # full-width letters


def test_chinese_without_spaces(catalogue: SearchBackend) -> None:
    assert find(catalogue, "video", "猫") == [10]  # one character
    assert find(catalogue, "video", "可爱") == [10]
    assert find(catalogue, "video", "我的猫") == [10]
    assert find(catalogue, "video", "狗") == []


def test_japanese_without_spaces(catalogue: SearchBackend) -> None:
    assert find(catalogue, "video", "東京タワー") == [11]
    assert find(catalogue, "account", "東京タワー") == [6]
    assert find(catalogue, "video", "行きました") == [11]
    # Dakuten matter: ガギグ is not カキク, half-width ｶﾞｷﾞｸﾞ is ガギグ.
    assert find(catalogue, "video", "ガギグ") == [17]
    assert find(catalogue, "video", "カキク") == [18]
    assert find(catalogue, "video", "ｶﾞｷﾞｸﾞ") == [17]


def test_korean(catalogue: SearchBackend) -> None:
    assert find(catalogue, "video", "안녕하세요") == [19]
    assert find(catalogue, "video", "여러분") == [19]


def test_arabic(catalogue: SearchBackend) -> None:
    assert find(catalogue, "video", "مرحبا") == [12]
    assert find(catalogue, "video", "المدرسه") == [12]  # teh marbuta written as heh
    assert find(catalogue, "video", "مدرسة") == [12]
    assert find(catalogue, "account", "محمد احمد")[0] == 7  # no harakat, bare alef
    assert find(catalogue, "account", "مـحـمـد")[0] == 7  # tatweel


def test_right_to_left_text_with_bidi_controls(catalogue: SearchBackend) -> None:
    """Text pasted from an RTL context carries direction marks and embeddings; they are not
    letters, and mixed-direction queries still match in logical order."""
    assert find(catalogue, "account", "\u200fשלום\u200f")[0] == 8
    assert find(catalogue, "account", "\u202bשלום עולם\u202c")[0] == 8
    assert find(catalogue, "account", "shalom \u2067שלום\u2069")[0] == 8
    assert find(catalogue, "video", "\u200eمرحبا بكم\u200e") == [12]


# --- writes -------------------------------------------------------------------------------

def test_upsert_replaces(backend: SearchBackend) -> None:
    backend.apply(upserts=[SearchDoc("video", 50, {"caption": "original words"})])
    backend.apply(upserts=[SearchDoc("video", 50, {"caption": "replacement text"})])
    assert find(backend, "video", "original") == []
    assert find(backend, "video", "replacement") == [50]
    assert backend.count("video") == 1
    # The last of two versions in one batch wins.
    backend.apply(upserts=[SearchDoc("video", 50, {"caption": "first"}),
                           SearchDoc("video", 50, {"caption": "second"})])
    assert find(backend, "video", "first") == []
    assert find(backend, "video", "second") == [50]
    assert backend.count("video") == 1


def test_a_failed_batch_writes_nothing_and_the_index_stays_writable(
        backend: SearchBackend) -> None:
    backend.apply(upserts=[SearchDoc("video", 1, {"caption": "kept"})])
    broken = SearchDoc("video", 3, {"caption": 12345})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        backend.apply(upserts=[SearchDoc("video", 2, {"caption": "lost"}), broken],
                      deletes=[("video", 1)])
    assert find(backend, "video", "lost") == []
    assert find(backend, "video", "kept") == [1]
    backend.apply(upserts=[SearchDoc("video", 2, {"caption": "written"})])  # lock released
    assert find(backend, "video", "written") == [2]


def test_same_id_in_two_kinds_is_two_documents(backend: SearchBackend) -> None:
    backend.apply(upserts=[SearchDoc("video", 7, {"caption": "sameid"}),
                           SearchDoc("sound", 7, {"title": "sameid"})])
    backend.apply(deletes=[("video", 7)])
    assert find(backend, "video", "sameid") == []
    assert find(backend, "sound", "sameid") == [7]


def test_delete_removes_and_unknown_delete_is_a_noop(catalogue: SearchBackend) -> None:
    catalogue.apply(deletes=[("video", 14), ("video", 999_999), ("account", 424242)])
    assert find(catalogue, "video", "guitar") == []
    assert catalogue.count("video") == len(VIDEOS) - 1
    catalogue.apply()  # nothing to do


def test_ids_lists_one_kind(catalogue: SearchBackend) -> None:
    assert catalogue.ids("video") == {doc.id for doc in VIDEOS}
    assert catalogue.ids("hashtag") == {40, 41}
    catalogue.apply(deletes=[("hashtag", 41)])
    assert catalogue.ids("hashtag") == {40}


def test_count_and_clear(catalogue: SearchBackend) -> None:
    assert catalogue.count("account") == len(ACCOUNTS)
    assert catalogue.count("video") == len(VIDEOS)
    assert catalogue.count("sound") == 1
    assert catalogue.count("hashtag") == 2
    catalogue.mark_built()
    catalogue.clear()
    assert [catalogue.count(k) for k in ("account", "video", "sound", "hashtag")] == [0] * 4
    assert find(catalogue, "account", "beyonce") == []
    assert not catalogue.is_built()  # a cleared index is being rebuilt
    catalogue.apply(upserts=[SearchDoc("account", 3, {"handle": "beyonce"})])
    assert find(catalogue, "account", "beyonce") == [3]


def test_generation_moves_with_every_visible_write_and_only_then(
        make_backend: Factory) -> None:
    """The search service keeps an engine's answer while its generation is unchanged
    (services.retrieval's candidate cache): it must change whenever a write (this
    instance's or another's) became visible, or be None (nothing is kept)."""
    backend, other = make_backend(), make_backend()  # `other`: another process's instance
    first = backend.generation()
    if first is None:
        assert other.generation() is None
        return
    assert backend.generation() == first  # no write: unchanged
    backend.apply(upserts=[SearchDoc("hashtag", 1, {"name": "generation"})])
    after_write = backend.generation()
    assert after_write != first
    other_before = other.generation()
    backend.apply(deletes=[("hashtag", 1)])
    assert backend.generation() != after_write
    assert other.generation() != other_before  # another instance sees the commit
    cleared_from = backend.generation()
    backend.clear()
    assert backend.generation() != cleared_from


def test_search_without_recheck_after_generation_sees_every_write_before_it(
        make_backend: Factory) -> None:
    """services.retrieval reads `generation()` and, on a miss, searches with
    recheck=False: every write visible at that generation (another instance's included)
    is in the answer, which is the answer of a search that makes its own check."""
    backend, other = make_backend(), make_backend()  # `other`: another process's instance
    backend.generation()
    other.apply(upserts=[SearchDoc("hashtag", 1, {"name": "recheck"})])
    backend.generation()
    requests: list[tuple[Kind, int]] = [("hashtag", 5)]
    assert [ids(hits) for hits in backend.search_many(requests, "recheck",
                                                      recheck=False)] == [[1]]
    assert backend.search_many(requests, "recheck", recheck=False) == \
        backend.search_many(requests, "recheck")


def test_tantivy_without_recheck_does_not_look_for_commits_again(tmp_path: Path) -> None:
    """The check is made once per request (a read of meta.json): after `generation()`,
    recheck=False searches that generation's reader; a search with its own check sees a
    commit made since."""
    backend, other = TantivyBackend(tmp_path / "index"), TantivyBackend(tmp_path / "index")
    generation = backend.generation()
    other.apply(upserts=[SearchDoc("hashtag", 2, {"name": "since"})])
    requests: list[tuple[Kind, int]] = [("hashtag", 5)]
    assert backend.search_many(requests, "since", recheck=False) == [[]]
    assert [ids(hits) for hits in backend.search_many(requests, "since")] == [[2]]
    assert backend.generation() != generation  # that search reloaded the reader


def test_built_flag_survives_reopening(make_backend: Factory) -> None:
    first = make_backend()
    assert not first.is_built()
    first.apply(upserts=[SearchDoc("hashtag", 1, {"name": "restart"})])
    first.mark_built()
    reopened = make_backend()  # a restarted process
    assert reopened.is_built()
    assert find(reopened, "hashtag", "restart") == [1]
    assert reopened.count("hashtag") == 1


def test_limit(catalogue: SearchBackend) -> None:
    assert len(catalogue.search("account", "c", limit=1, prefix=True)) == 1
    assert catalogue.search("account", "charli", limit=0) == []


HOSTILE = [
    "", " ", "\t\n", "a", "x" * 10_000, "\x00", "char\x00li", "\ud800", "beyon\udfffce",
    "😀", "😀🔥💯" * 50, "'; DROP TABLE search_searchdocument; --", ".*(a+)+$", "[[[", "\\",
    "a:*", "!&|()", "'\\''", "%_%", "\u202e\u200f", "ﷺ", "\ufeff", "~~~", "OR AND NOT",
    "field:value", "a" * 64 + "b", "💩" * 3000, "é" * 5000, "\u0301" * 100, "ｶﾞ" * 500,
    "العربية " * 300, "中" * 2000,
]


@pytest.mark.parametrize("prefix", [False, True])
def test_hostile_queries_never_raise(catalogue: SearchBackend, prefix: bool) -> None:
    for text in HOSTILE:
        for kind in KINDS:
            hits = catalogue.search(kind, text, limit=10, prefix=prefix)
            assert isinstance(hits, list)
    assert find(catalogue, "account", "\x00beyonce\x00") == [3]
    assert find(catalogue, "account", "'; DROP TABLE--") == []
    assert catalogue.count("account") == len(ACCOUNTS)


def test_hostile_documents_are_indexed(backend: SearchBackend) -> None:
    docs = [SearchDoc("video", i, {"caption": text + " hostilemarker"})
            for i, text in enumerate(HOSTILE, start=100)]
    docs.append(SearchDoc("video", 1, {"caption": "", "hashtags": ""}))
    backend.apply(upserts=docs)
    assert backend.count("video") == len(docs)
    assert len(backend.search("video", "hostilemarker", limit=100)) == len(HOSTILE)
    assert find(backend, "video", "中中") == [100 + HOSTILE.index("中" * 2000)]


# --- several processes --------------------------------------------------------------------

def _worker(name: str, index_dir: Path, op: str, args: dict[str, object]) -> subprocess.Popen[str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "swipeme_site.settings.test",
           "SWIPEME_USE_TEST_DB": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.search.backend_worker", name, str(index_dir), op,
         json.dumps(args)],
        env=env, cwd=ROOT, stdin=subprocess.PIPE if op == "serve" else None,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _ask(proc: subprocess.Popen[str], query: dict[str, object] | None = None) -> object:
    """The next answer of a `serve` worker (to `query`, sent first if given)."""
    assert proc.stdin is not None
    assert proc.stdout is not None
    if query is not None:
        proc.stdin.write(json.dumps(query) + "\n")
        proc.stdin.flush()
    line = proc.stdout.readline()
    assert line, proc.communicate(timeout=30)[1]
    return json.loads(line)


def _result(proc: subprocess.Popen[str]) -> object:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def backend_name(make_backend: Factory, request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["make_backend"])


@pytest.mark.django_db(transaction=True)
def test_writes_are_visible_to_another_process_and_instance(
        make_backend: Factory, backend_name: str, tmp_path: Path) -> None:
    reader = make_backend()  # opened before the writes, like a running web worker
    assert find(reader, "video", "visible") == []
    # ... and so is another process's (one process start: its searches are lines on stdin)
    other = _worker(backend_name, tmp_path / "index", "serve", {})
    try:
        assert _ask(other) == "ready"
        writer = make_backend()
        writer.apply(upserts=[SearchDoc("video", 60, {"caption": "visible at once"})])
        assert find(reader, "video", "visible") == [60]
        query = {"kind": "video", "query": "visible", "prefix": False}
        assert _ask(other, query) == [60]
        writer.apply(deletes=[("video", 60)])
        assert find(reader, "video", "visible") == []
        assert _ask(other, query) == []
    finally:
        _, err = other.communicate(timeout=60)  # closes its stdin: it ends
    assert other.returncode == 0, err


@pytest.mark.django_db(transaction=True)
def test_processes_starting_together_on_a_new_index(
        make_backend: Factory, backend_name: str, tmp_path: Path) -> None:
    """Every web worker opens the index at its first start, at the same moment: one of
    them creates it, none fails, and it works afterwards."""
    procs = [_worker(backend_name, tmp_path / "index", "search",
                     {"kind": "video", "query": "nothing yet", "prefix": True})
             for _ in range(3)]
    assert [_result(proc) for proc in procs] == [[], [], []]
    backend = make_backend()
    backend.apply(upserts=[SearchDoc("video", 1, {"caption": "first start"})])
    assert find(backend, "video", "first start") == [1]


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_do_not_corrupt(
        make_backend: Factory, backend_name: str, tmp_path: Path) -> None:
    """Two writer processes and a thread of this one, interleaved: every document lands."""
    batches, size = 6, 5
    procs = [_worker(backend_name, tmp_path / "index", "write",
                     {"start": start, "batches": batches, "size": size})
             for start in (1000, 2000)]
    local = make_backend()
    errors: list[BaseException] = []

    def write_here() -> None:
        try:
            from django.db import connection

            for batch in range(batches):
                first = 3000 + batch * size
                local.apply(upserts=[
                    SearchDoc("video", i, {"caption": f"concurrent writer clip{i} marker"})
                    for i in range(first, first + size)])
            connection.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=write_here)
    thread.start()
    for proc in procs:
        assert _result(proc) == "ok"
    thread.join(timeout=120)
    assert not errors
    reader = make_backend()
    assert reader.count("video") == 3 * batches * size
    assert len(reader.search("video", "concurrent marker", limit=500)) == 3 * batches * size
    assert find(reader, "video", "clip2017")[0] == 2017  # then its one-typo neighbours
