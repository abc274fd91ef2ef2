"""engine.text: the one normaliser and tokeniser every search backend and the query side use."""

from __future__ import annotations

import pytest

from apps.search.engine.text import (
    MAX_QUERY_TERMS,
    MAX_TOKEN_CHARS,
    clean,
    edit_distance,
    index_tokens,
    normalize,
    plan_query,
    prefix_distance,
    typo_budget,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("Beyoncé", "beyonce"),
    ("ÉCOLE", "ecole"),
    ("Straße", "strasse"),
    ("Ørsted Łódź", "orsted lodz"),
    ("ＢＥＹＯＮＣＥ", "beyonce"),  # full width
    ("ﬁne", "fine"),  # ligature
    ("Ἀθῆναι", "αθηναι"),  # Greek accents and breathings
    ("Йогурт", "иогурт"),  # Cyrillic short i folds like an accent
    ("Tiếng Việt", "tieng viet"),
])
def test_case_accents_and_width_are_folded(text: str, expected: str) -> None:
    assert normalize(text) == expected


def test_marks_that_change_a_letter_are_kept() -> None:
    assert normalize("ガギグ") == "ガギグ"  # dakuten: が is not か
    assert normalize("ガギグ") != normalize("カキク")
    assert normalize("ｶﾞｷﾞｸﾞ") == "ガギグ"  # half-width kana compose
    assert normalize("パン") == "パン"  # handakuten
    assert normalize("नमस्ते") == "नमस्ते"  # Devanagari vowel signs and virama
    assert normalize("ภาษาไทย") == "ภาษาไทย"


def test_arabic_spelling_variants() -> None:
    assert normalize("مَرْحَباً") == "مرحبا"  # harakat
    assert normalize("كتـــاب") == "كتاب"  # tatweel
    assert normalize("أحمد") == normalize("إحمد") == normalize("آحمد") == "احمد"
    assert normalize("مدرسة") == "مدرسه"  # teh marbuta
    assert normalize("مستشفى") == "مستشفي"  # alef maqsura
    assert normalize("یک") == "يك"  # Farsi yeh and keheh


def test_rtl_text_keeps_logical_order_and_drops_direction_marks() -> None:
    assert index_tokens("\u200fשלום\u200f עולם") == ["שלום", "עולם"]
    assert index_tokens("hello \u2067مرحبا\u2069 world") == ["hello", "مرحبا", "world"]


def test_handles_and_names_index_their_parts_and_the_whole() -> None:
    assert index_tokens("charli_damelio") == ["charli", "damelio", "charlidamelio"]
    assert index_tokens("Charli D'Amelio", joined=True) == [
        "charli", "d", "amelio", "damelio", "charlidamelio"]
    assert index_tokens("Charli D’Amelio") == ["charli", "d", "amelio", "damelio"]
    assert index_tokens("spider-man.official") == [
        "spider", "man", "official", "spidermanofficial"]
    assert index_tokens("end. Next") == ["end", "next"]  # a full stop between words splits


def test_unspaced_scripts_as_bigrams_and_single_characters() -> None:
    assert index_tokens("我的猫") == ["我", "的", "猫", "我的", "的猫"]
    assert index_tokens("iphone保护壳") == ["iphone", "保", "护", "壳", "保护", "护壳"]
    long_run = "猫" * 10 + "狗" * 200  # a long caption without punctuation keeps all of it
    assert "狗狗" in index_tokens(long_run)
    plan = plan_query("东京塔")
    assert [t.text for t in plan.terms] == ["东京", "京塔"]
    assert all(t.typos == 0 for t in plan.terms)
    assert [t.text for t in plan_query("猫").terms] == ["猫"]


@pytest.mark.parametrize(("word", "budget"), [
    ("", 0), ("cat", 0), ("dogs", 0), ("dance", 1), ("sunshine", 1), ("beautiful", 2),
    ("extraordinary", 2),
])
def test_typo_budget_by_length(word: str, budget: int) -> None:
    assert typo_budget(word) == budget


def test_query_plan() -> None:
    plan = plan_query("Charli Damelo", prefix=True)
    assert plan.normalized == "charli damelo"
    assert [(t.text, t.typos, t.prefix) for t in plan.terms] == [
        ("charli", 1, False), ("damelo", 1, True)]
    assert plan.joined is not None
    assert (plan.joined.text, plan.joined.typos, plan.joined.prefix) == ("charlidamelo", 2, True)
    assert plan_query("beyonce").joined is None  # one word: nothing to join
    assert plan_query("@charli_damelio").joined is not None


@pytest.mark.parametrize("text", [
    "", "   ", "😀🔥", "!!!", "\x00", "\ud800", "\u200f\u202e", "'; --",
])
def test_unmatchable_queries_plan_nothing(text: str) -> None:
    assert plan_query(text).empty


def test_hostile_text_never_raises_and_is_bounded() -> None:
    for text in ["x" * 10_000, "a b " * 5_000, "\x00" * 100, "\ud800\udfff" * 50, "中" * 10_000,
                 "é" * 10_000, ".*(a+)+$[", "'\\\"%_", "\U0010ffff" * 10]:
        plan = plan_query(text, prefix=True)
        assert len(plan.terms) <= MAX_QUERY_TERMS
        assert all(len(t.text) <= MAX_TOKEN_CHARS for t in plan.terms)
        tokens = index_tokens(text, joined=True)
        assert all(0 < len(t) <= MAX_TOKEN_CHARS for t in tokens)
        assert all(" " not in t and "\x00" not in t for t in tokens)
        clean(text).encode("utf-8")  # storable
    assert normalize("a\x00b") == "a b"
    assert clean("ok\x00\ud800") == "ok"


def test_edit_distances() -> None:
    assert edit_distance("hello", "hello") == 0
    assert edit_distance("hello", "hlelo") == 1  # a swap costs one, as in the engines
    assert edit_distance("guitar", "guitr") == 1
    assert edit_distance("extraordinary", "extrordinery") == 2
    assert edit_distance("abcdef", "uvwxyz", limit=2) == 3  # capped above the limit
    assert prefix_distance("charl", "charlidamelio") == 0
    assert prefix_distance("chralid", "charlidamelio") == 1
    assert prefix_distance("xyz", "charlidamelio") == 3
