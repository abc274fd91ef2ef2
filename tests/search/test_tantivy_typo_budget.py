"""tantivy spends a query word's typo budget only where it is needed (FUZZY_SKIP_DOC_FREQ):
a word the field holds often as typed is what the user meant, and its typo neighbours are
long posting lists (they made caption searches over a million videos cost 60-130 ms)."""

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
