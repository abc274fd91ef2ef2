"""tantivy spends a query word's typo budget only where it is needed (FUZZY_SKIP_DOC_FREQ,
then words held as typed first): a word the field holds as typed is what the user meant,
and typo lookups (a Levenshtein automaton over a field's dictionary, then its neighbours'
posting lists) made caption searches over a million videos cost 30-130 ms."""

from __future__ import annotations

from pathlib import Path

from apps.search.engine.base import SearchDoc
from apps.search.engine.tantivy_backend import FUZZY_SKIP_DOC_FREQ, TantivyBackend


def _ids(backend: TantivyBackend, query: str, *, prefix: bool = False) -> set[int]:
    return {hit.id for hit in backend.search("video", query, limit=500, prefix=prefix)}


def test_a_common_word_is_not_also_looked_up_with_typos(tmp_path: Path) -> None:
    backend = TantivyBackend(tmp_path / "index")
    common = [SearchDoc("video", i, {"caption": f"guitar lesson {i}"})
              for i in range(1, FUZZY_SKIP_DOC_FREQ + 1)]
    backend.apply(upserts=[*common,
                           SearchDoc("video", 900, {"caption": "guitars on sale"}),
                           SearchDoc("video", 901, {"caption": "my violin teacher"}),
                           SearchDoc("video", 902, {"caption": "pianola roll"})])
    found = _ids(backend, "guitar")
    assert found == {doc.id for doc in common}  # not "guitars", one typo away
    # A rare word, or one the field does not hold (a real typo), keeps its budget.
    assert _ids(backend, "violim") == {901}
    assert _ids(backend, "violins") == {901}
    # A prefix that starts words as typed is not expanded with typos; one that starts none
    # is ("pianl" while typing "pianola").
    assert _ids(backend, "guit", prefix=True) == {*found, 900}
    assert _ids(backend, "pianl", prefix=True) == {902}


def test_words_held_as_typed_answer_without_their_typo_neighbours(tmp_path: Path) -> None:
    backend = TantivyBackend(tmp_path / "index")
    backend.apply(upserts=[SearchDoc("video", 1, {"caption": "dance battle"}),
                           SearchDoc("video", 2, {"caption": "dancer battle"}),
                           SearchDoc("video", 3, {"caption": "mountain sunrise"}),
                           SearchDoc("video", 4, {"caption": "fountain pen"})])
    assert _ids(backend, "dance battle") == {1}
    assert _ids(backend, "dancer battle") == {2}
    # A word no document holds as typed is a typo: its neighbours are looked up.
    assert _ids(backend, "dancee battle") == {1, 2}
    assert _ids(backend, "battle dancee") == {1, 2}
    # A typo that made another real word ("fountain"): nothing holds both words as typed,
    # so every word gets its budget and the meant caption is found.
    assert _ids(backend, "fountain sunrise") == {3}


def test_a_short_last_word_while_typing_does_not_filter_captions(tmp_path: Path) -> None:
    backend = TantivyBackend(tmp_path / "index")
    backend.apply(upserts=[SearchDoc("video", 1, {"caption": "quinoa salad recipe"}),
                           SearchDoc("video", 2, {"caption": "tomato salad"})])
    assert _ids(backend, "quinoa salad re", prefix=True) == {1}
    assert _ids(backend, "quinoa salad rec", prefix=True) == {1}
    assert _ids(backend, "re", prefix=True) == set()  # alone it is not a search yet


def test_a_field_a_kind_does_not_usually_have_stays_findable(tmp_path: Path) -> None:
    backend = TantivyBackend(tmp_path / "index")
    backend.apply(upserts=[SearchDoc("video", 1, {"caption": "clip", "title": "Moonwalk"}),
                           SearchDoc("account", 2, {"handle": "moonwalker",
                                                    "caption": "stargazer"})])
    assert _ids(backend, "moonwalk") == {1}
    assert [hit.id for hit in backend.search("account", "stargazer", limit=5)] == [2]
