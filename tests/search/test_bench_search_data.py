"""The search benchmark's data and queries (bench/search_data.py): typos are what they claim
to be (the benchmark's recall figures depend on it), and a small catalogue seeded with
COPY answers queries made from entries a signed-out viewer may find."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import search_data


@pytest.mark.parametrize("typos", [1, 2])
def test_typos_are_exact_edits_within_the_budget(typos: int) -> None:
    rng = random.Random(3)
    vocab = search_data.Vocabulary(1)
    made = 0
    for _ in range(400):
        lang = rng.choice(("en", "es", "pt", "ar"))
        word = vocab.tail_word(rng, lang)
        changed = search_data.with_typos(rng, word, typos)
        if search_data.budget(word) < typos:
            assert changed is None  # "fnri" from "fenri" would be a typo Meilisearch refuses
            continue
        if changed is None:
            continue
        made += 1
        assert search_data.levenshtein(search_data.bench_norm(word),
                                       search_data.bench_norm(changed)) == typos
        assert search_data.budget(changed) >= typos  # the typed word carries its typos
        assert changed[0] == word[0]  # a first-letter typo counts double in Meilisearch
    assert made > 50
    assert search_data.with_typos(rng, "東京タワー", 1) is None  # no typos in Japanese


def test_judge_counts_an_equivalent_entry_and_not_another() -> None:
    query = {"kind": "video", "qkind": "typo1", "q": "maquixllaje cabello", "target": 1,
             "rule": {"words": ["maquillaje", "cabello"]}, "prefix": False}
    assert search_data.judge(query, 1, None)
    assert search_data.judge(query, 2, ("Cabello y MAQUILLAJE hoy", "", "", ""))
    assert not search_data.judge(query, 3, ("cabello corto", "", "", ""))
    typed = {"kind": "account", "qkind": "prefix", "q": "charli_da", "target": 1,
             "rule": {"field": 0, "norm": "charli_damelio"}, "prefix": True}
    assert search_data.judge(typed, 5, ("charli_dancer", "Charli"))
    assert not search_data.judge(typed, 6, ("charlie_da", "Charlie"))


@pytest.mark.django_db
def test_small_catalogue_gives_queries_of_every_kind_from_findable_entries() -> None:
    from apps.content.models import Post

    sizes = {"accounts": 300, "videos": 300, "hashtags": 60, "sounds": 40}
    search_data.seed(sizes, 5, lambda _line: None)
    assert Post.objects.count() == 300
    queries = search_data.make_queries(3, 5)
    kinds = {(q["kind"], q["qkind"]) for q in queries}
    assert {k for k, _ in kinds} == {"account", "video", "sound", "hashtag"}
    assert {qk for _, qk in kinds} == {"exact", "typo1", "typo2", "prefix"}
    findable: dict[str, set[int]] = {kind: set() for kind in search_data.TARGET_SQL}
    from django.db import connection

    with connection.cursor() as cursor:
        for kind, sql in search_data.TARGET_SQL.items():
            cursor.execute(sql)
            findable[kind] = {row[0] for row in cursor.fetchall()}
    for q in queries:
        assert q["target"] in findable[q["kind"]]
        if q["qkind"] == "exact":  # the intended entry answers its own exact query
            text = search_data.texts_of(q["kind"], [q["target"]])[q["target"]]
            assert search_data.judge({**q, "target": -1}, q["target"], text), q
