"""Live chat moderation in batches (`live.chat.filters`, session 38): the lines checked at
the same moment are scored in one call (the abuse classifier and the heads' embedding),
each line gets its own scores; a flood's repeated line is scored once (the memo); the
staff's configuration is kept per process and a staff edit applies to the next line; a
held line reaches nobody and the shown ones reach the room in their order."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.live.chat import broadcast, filters, services
from apps.live.models import LiveChatMessage
from apps.moderation.detection import heads
from apps.moderation.detection.models import TermList
from apps.moderation.detection.services import policy_rules_seed, text_config
from apps.moderation.policies import Policy
from tests.factories import UserFactory
from tests.live.live_helpers import host, on_air

pytestmark = pytest.mark.django_db

LINES = [
    "great stream tonight",
    "you are ugly and stupid",
    "hola a todos, qué buen directo",
    "this is so fun",
]


@pytest.fixture(autouse=True)
def _fresh() -> None:
    policy_rules_seed()
    filters.memo.clear()


def test_lines_checked_at_once_share_one_scoring_call_and_each_gets_its_own() -> None:
    calls: list[list[str]] = []
    gate = threading.Event()

    def gated(texts: Sequence[str]) -> list[filters.Scores]:
        calls.append(list(texts))
        if len(calls) == 1:
            assert gate.wait(20)
        return filters.score_texts(texts)

    shared = filters.Coalesced(gated)
    with ThreadPoolExecutor(max_workers=5) as pool:
        first = pool.submit(shared, LINES[0])
        while not calls:  # the first call runs (held by the gate)
            time.sleep(0.005)
        rest = [pool.submit(shared, t) for t in [*LINES[1:], LINES[1]]]
        while len(shared._waiting) < 4:
            time.sleep(0.005)
        gate.set()
        got = [f.result(timeout=20) for f in (first, *rest)]
    assert calls == [[LINES[0]], [*LINES[1:], LINES[1]]]  # the waiting lines: one call
    alone = {t: filters.score_texts([t])[0] for t in LINES}
    for text, scores in zip([*LINES, LINES[1]], got, strict=True):
        mine = alone[text]
        assert scores.abuse == mine.abuse
        assert scores.heads.keys() == mine.heads.keys()
        assert all(abs(scores.heads[c] - mine.heads[c]) < 1e-3 for c in mine.heads)
    assert got[1].abuse > 0.5 > got[0].abuse  # each its own: the abusive line is the 2nd


def test_more_lines_waiting_than_a_batch_takes_each_get_their_own_in_arrival_order() -> None:
    """A batch takes at most `most` waiting lines, oldest first: a caller whose own line was
    left for later scores the next batch and still gets its own result (two other threads'
    lines are already waiting when it arrives; a batch takes two)."""
    calls: list[list[str]] = []

    def batch(texts: Sequence[str]) -> list[int]:
        calls.append(list(texts))
        return [len(t) for t in texts]

    shared: filters.Coalesced[int] = filters.Coalesced(batch, most=2)
    earlier: list[filters._Waiting[int]] = [filters._Waiting("a"), filters._Waiting("bb")]
    shared._waiting.extend(earlier)
    assert shared("ccc") == 3
    assert calls == [["a", "bb"], ["ccc"]]
    assert [(w.done, w.result) for w in earlier] == [(True, 1), (True, 2)]


def test_batches_run_side_by_side_up_to_parallel_and_a_taken_line_waits_for_its_batch(
) -> None:
    """With `parallel` = 2 a second batch starts while the first is held (the embedding
    uses one core a call); a third caller waits until one of them ends, and a caller whose
    line a running batch took waits for that batch instead of scoring it again."""
    calls: list[list[str]] = []
    gates = {"a": threading.Event(), "b": threading.Event()}

    def batch(texts: Sequence[str]) -> list[int]:
        calls.append(list(texts))
        for t in texts:
            if t in gates:
                assert gates[t].wait(20)
        return [len(t) for t in texts]

    shared: filters.Coalesced[int] = filters.Coalesced(batch, parallel=2)
    with ThreadPoolExecutor(max_workers=4) as pool:
        a = pool.submit(shared, "a")
        while len(calls) < 1:
            time.sleep(0.005)
        b = pool.submit(shared, "b")
        while len(calls) < 2:  # started beside the held first batch
            time.sleep(0.005)
        assert shared._running == 2
        c = pool.submit(shared, "ccc")
        while not shared._waiting:
            time.sleep(0.005)
        time.sleep(0.05)
        assert len(calls) == 2  # both slots busy: "ccc" waits
        gates["b"].set()
        assert b.result(timeout=20) == 1
        assert c.result(timeout=20) == 3
        gates["a"].set()
        assert a.result(timeout=20) == 1
    assert calls == [["a"], ["b"], ["ccc"]]
    assert shared._running == 0
    assert shared.calls == 3


def test_a_line_is_scored_in_its_whitespace_normal_form_with_the_same_scores() -> None:
    """The memo keeps a line's scores under `scored_form` (runs of whitespace made one
    space, ends stripped): every such variant of a line scores exactly as the line (the
    heads' tokenizer collapses these runs, the classifier reads words), so a flood cannot
    dodge the memo with spaces. The six whitespace characters the tokenizer keeps as
    characters are left alone."""
    line = "you are  ugly and stupid, hola amigo"
    variants = [line, f"  {line}\n", line.replace(" ", "\t"), line.replace(" ", " \u3000 "),
                line.replace(" ", "\u00a0\r\n"), line.replace(" ", "\u2003\u2028")]
    alone = [filters.score_texts([v])[0] for v in variants]  # no memo, no normal form
    assert all(got == alone[0] for got in alone)  # exactly the same scores
    assert alone[0].abuse > 0.5
    assert alone[0].heads
    assert {filters.scored_form(v) for v in variants} == {
        "you are ugly and stupid, hola amigo"}
    calls = filters.scores_of.texts
    got = [filters.scores_for(v) for v in variants]
    assert filters.scores_of.texts == calls + 1  # one scoring for all the variants
    assert all(g == alone[0] for g in got)
    for kept in ("\x0b", "\x1c", "\x85"):  # the tokenizer reads these as characters
        odd = f"great{kept}stream tonight"
        assert filters.scored_form(odd) == odd
        # (the heads themselves: the n-gram screen clears both forms of this line)
        assert heads.text_scores_many([odd]) != heads.text_scores_many(["great stream tonight"])


def test_a_repeated_line_is_scored_once_within_the_memo() -> None:
    calls = filters.scores_of.texts
    first = filters.scores_for("first!!")
    again = [filters.scores_for("first!!") for _ in range(5)]
    assert filters.scores_of.texts == calls + 1
    assert all(a == first for a in again)
    assert filters.memo.hits == 5
    short = filters._Memo(size=2, seconds=60)
    for t in ("a", "b", "c"):
        short.put(t, first)
    assert short.get("a") is None  # the oldest went
    assert short.get("c") == first
    gone = filters._Memo(seconds=0)
    gone.put("a", first)
    assert gone.get("a") is None  # expired


def test_a_held_line_reaches_nobody_and_the_shown_ones_keep_their_order(
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> None:
    TermList.objects.create(
        name="slurs", policy=Policy.HATE_HARASSMENT, terms="scumbag", outcome="block"
    )
    live, _ = on_air(host())
    author = UserFactory()
    said = [
        "one great stream",
        "host you absolute scumbag",
        "two great stream",
        "you are ugly and stupid",
        "three great stream",
    ]
    # the lines of a window, scored in one batch (as the chat's threads do at once)
    for text, scores in zip(said, filters.score_texts(said), strict=True):
        filters.memo.put(text, scores)
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(broadcast.room_group(live.pk), channel)
    answers = []
    with django_capture_on_commit_callbacks(execute=True):
        for text in said:
            _, _, hide = services.chat_post(author, live.pk, text)
            answers.append(hide.words if hide else "")
    assert filters.memo.hits == len(said)  # the batch's scores were the ones used
    assert "words this chat doesn't allow" in answers[1]  # the author is told, in words
    assert "looks abusive" in answers[3]
    assert answers[0] == answers[2] == answers[4] == ""
    got = []
    while True:
        try:
            event = async_to_sync(_receive)(layer, channel)
        except TimeoutError:
            break
        got.append(event["frame"]["message"]["text"])
    assert got == ["one great stream", "two great stream", "three great stream"]
    stored = list(
        LiveChatMessage.objects.filter(live=live).order_by("pk").values_list("text", "hidden")
    )
    assert stored == [
        (said[0], ""),
        (said[1], LiveChatMessage.Hidden.FILTERED),
        (said[2], ""),
        (said[3], LiveChatMessage.Hidden.CLASSIFIER),
        (said[4], ""),
    ]


async def _receive(layer: Any, channel: str) -> dict[str, Any]:
    """The channel's next event; TimeoutError after a second without one."""
    import asyncio

    event: dict[str, Any] = await asyncio.wait_for(layer.receive(channel), 1.0)
    return event


def test_the_kept_configuration_follows_a_staff_edit_on_the_next_line() -> None:
    live, _ = on_air(host())
    author = UserFactory()
    assert services.chat_post(author, live.pk, "what a gorgeous sunset")[2] is None
    loads = text_config.loads
    assert services.chat_post(author, live.pk, "what a gorgeous view")[2] is None
    assert text_config.loads == loads  # kept: no second read of the rows
    words = TermList.objects.create(
        name="banned", policy=Policy.HATE_HARASSMENT, terms="gorgeous", outcome="block"
    )
    hide = services.chat_post(author, live.pk, "what a gorgeous river")[2]
    assert hide is not None
    assert hide.reason == LiveChatMessage.Hidden.FILTERED
    words.is_active = False
    words.save()
    assert services.chat_post(author, live.pk, "what a gorgeous lake")[2] is None
    words.is_active = True
    words.save()
    other = UserFactory()  # (the per-person burst limit: 5 lines in 10 s)
    assert services.chat_post(other, live.pk, "what a gorgeous sea")[2] is not None
    words.delete()
    assert services.chat_post(other, live.pk, "what a gorgeous hill")[2] is None
    assert text_config.loads == loads + 4  # one read after each edit, none between


def test_a_line_the_screen_clears_is_shown_and_a_line_the_heads_hold_is_still_hidden(
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> None:
    """The n-gram screen (`moderation.detection.screen`) clears everyday chat before the
    heads' embedding; a line the heads hold (a Spanish threat: no term list, and the
    English classifier cannot read it) still reaches nobody."""
    live, _ = on_air(host())
    author = UserFactory()
    said = ["今日の配信最高", "sé dónde vives y mañana te voy a matar con un cuchillo"]
    scored = filters.score_texts(said)
    assert scored[0].heads == {}  # cleared: not embedded
    assert scored[1].heads["threat"] >= 0.85  # the heads' live-chat hold
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(broadcast.room_group(live.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        hides = [services.chat_post(author, live.pk, text)[2] for text in said]
    assert hides[0] is None
    assert hides[1] is not None
    assert hides[1].reason == LiveChatMessage.Hidden.FILTERED
    got = []
    while True:
        try:
            got.append(async_to_sync(_receive)(layer, channel)["frame"]["message"]["text"])
        except TimeoutError:
            break
    assert got == [said[0]]
