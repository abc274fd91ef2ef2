"""The chat's text checks, before anyone else sees a message.

- Links: refused (the author told why) unless the host allowed them; the host and their
  moderators may always post links.
- Moderation's text checks (`moderation.detection.services.text_verdict`: the staff term
  lists, the abuse classifier, the link-spam signals): a live chat is public and fast, so
  a message is hidden from the room from "review" up (spam from "limit reach" up), like a
  stranger's message request. A hidden message is kept (reports, the chat around them)
  and its author is told in words that nobody else sees it.

Every rule runs before anyone else sees the message (a minor's safety is never "deliver,
then retract": a line is broadcast only after its verdict, so a held line reaches nobody).
What a line's verdict costs, and what is shared between lines:
- **The text's scores in batches** (`scores_of`, a `Coalesced`): the abuse classifier and
  the multilingual heads' embedding depend on the text only; the lines checked at the same
  moment are scored in ONE call of each (`text.abuse_scores`, `heads.text_scores_many`),
  each distinct text once. No timer: the first line to arrive while a scoring slot is free
  (one per CPU: the embedding uses one core a call) takes every line waiting (up to
  `BATCH_MOST`) and scores them; lines arriving meanwhile wait for a free slot and form
  the next batch, so the batch grows with the load by itself
  (measured: the embedding's CPU is per token, a batch saves only the per-call work, so a
  fixed window would add its wait to every line for nothing; docs/benchmarks.md).
- **The n-gram screen in front of the heads** (`moderation.detection.screen.head_scores`,
  7 December): a linear model over hashed character n-grams clears the lines the heads
  would flag nothing in (trained so that it clears none the heads flag, at this surface's
  thresholds); only the others are embedded. It steps aside when staff lower a live-chat
  threshold below what it was trained for, or the heads change.
- **A memo of recent texts** (`_Memo`: text -> scores, `MEMO_SIZE` texts for
  `MEMO_SECONDS`, keyed by the line's whitespace normal form, `scored_form`): a flood
  repeating a line ("first!", an emoji, a copied spam line, with spaces added or not) is
  scored once. Only the text's own scores are kept: the author's spam signals (repeats,
  pace, refusals), the term lists of their language and the rules still run per line.
- **The staff's configuration** (rules, term lists parsed, surface thresholds, settings)
  kept per process behind moderation's version key (`text_config.text_config()`: a staff
  edit applies to the next line).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from apps.accounts.models import User
from apps.live.models import LiveChatMessage
from apps.moderation.detection import screen, text
from apps.moderation.detection.models import SEVERITY, Outcome, Surface
from apps.moderation.detection.services import text_verdict
from apps.moderation.detection.services.text_config import text_config
from apps.moderation.policies import Policy

T = TypeVar("T")
BATCH_MOST = 64
MEMO_SIZE = 4096
MEMO_SECONDS = 10.0

HIDDEN_WORDS = {
    LiveChatMessage.Hidden.FILTERED: "Your message wasn't shown to others: it contains words "
                                     "this chat doesn't allow.",
    LiveChatMessage.Hidden.CLASSIFIER: "Your message wasn't shown to others: it looks abusive. "
                                       "Please keep the chat respectful.",
}
SPAM_WORDS = "Your message wasn't shown to others: it looks like spam."
LINKS_WORDS = "Links aren't allowed in this chat."


@dataclass(frozen=True)
class Hide:
    reason: str  # a LiveChatMessage.Hidden value
    words: str  # what the author reads


def has_links(body: str) -> bool:
    return bool(text.links(body))


@dataclass
class _Waiting(Generic[T]):
    text: str
    result: T | None = None
    error: Exception | None = None
    taken: bool = False  # in a batch being scored
    done: bool = False


@dataclass
class Coalesced(Generic[T]):
    """A batch function of texts shared by threads that call it at once: a caller whose
    text is not being scored, while fewer than `parallel` batches run, scores everything
    waiting (its own included); the others wait for that call, then for their own if it
    came too late. Each caller gets the result of its own text (the batch answers in the
    texts' order). `parallel` > 1 lets batches run side by side (the embedding releases
    the GIL and uses one core a call: one batch at a time would hold it to one core)."""

    batch: Callable[[Sequence[str]], list[T]]
    most: int = BATCH_MOST
    parallel: int = 1
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _waiting: list[_Waiting[T]] = field(default_factory=list)
    _running: int = 0
    calls: int = 0  # batch calls made (tests, the bench)
    texts: int = 0  # texts they scored

    def __call__(self, text: str) -> T:
        mine: _Waiting[T] = _Waiting(text)
        with self._cond:
            self._waiting.append(mine)
        # More than `most` waiting: the first `most` go first (in arrival order), and a
        # caller whose own text was not among them goes round again. A caller whose text
        # another batch took waits for that batch.
        while True:
            with self._cond:
                while not mine.done and (mine.taken or self._running >= self.parallel):
                    self._cond.wait()
                if mine.done:
                    break
                self._running += 1
                taken, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
                for waiting in taken:
                    waiting.taken = True
            try:
                results = self.batch([w.text for w in taken])
                for waiting, result in zip(taken, results, strict=True):
                    waiting.result = result
            except Exception as exc:  # noqa: BLE001 - each waiter re-raises it (no hang)
                for waiting in taken:
                    waiting.error = exc
            finally:
                with self._cond:
                    self.calls += 1
                    self.texts += len(taken)
                    for waiting in taken:
                        waiting.done = True
                    self._running -= 1
                    self._cond.notify_all()
        if mine.error is not None:
            raise mine.error
        assert mine.result is not None
        return mine.result


abuse_score: Coalesced[float] = Coalesced(text.abuse_scores)


@dataclass(frozen=True)
class Scores:
    """What moderation reads of a text alone (the same for every author)."""

    abuse: float
    heads: dict[str, float]


def score_texts(texts: Sequence[str]) -> list[Scores]:
    """Each text's abuse score and heads' scores, each distinct text once, in one call of
    the classifier and one of the embedding engine (for the texts the screen did not
    clear: a cleared text's heads scores are `{}`)."""
    distinct = list(dict.fromkeys(texts))
    abuse = dict(zip(distinct, text.abuse_scores(distinct), strict=True))
    # The n-gram screen clears the texts the heads would flag nothing in: those skip the
    # embedding (`screen.head_scores`; the rest are embedded in one call).
    found = dict(zip(distinct, screen.head_scores(
        distinct, surface=Surface.LIVE_CHAT, table=text_config().thresholds), strict=True))
    return [Scores(abuse[t], found[t]) for t in texts]


class _Memo:
    """Recent texts' scores (an LRU of `MEMO_SIZE` texts, each kept `MEMO_SECONDS`)."""

    def __init__(self, size: int = MEMO_SIZE, seconds: float = MEMO_SECONDS) -> None:
        self.size, self.seconds = size, seconds
        self._kept: OrderedDict[str, tuple[Scores, float]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0

    def get(self, text: str) -> Scores | None:
        now = time.monotonic()
        with self._lock:
            found = self._kept.get(text)
            if found is None or found[1] < now:
                return None
            self._kept.move_to_end(text)
            self.hits += 1
            return found[0]

    def put(self, text: str, scores: Scores) -> None:
        with self._lock:
            self._kept[text] = (scores, time.monotonic() + self.seconds)
            self._kept.move_to_end(text)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self.hits = 0


memo = _Memo()
# One batch at a time per CPU (the embedding uses one core a call).
scores_of: Coalesced[Scores] = Coalesced(score_texts, parallel=max(1, os.cpu_count() or 1))

# Whitespace the embedding's tokenizer reads as one space (runs collapsed) and the
# classifier's word tokens ignore: every `str.isspace` character but these six, which the
# tokenizer keeps as characters of their own (tests/live/test_chat_moderation_batch.py).
_SPACES = re.compile(r"[^\S\x0b\x1c-\x1f\x85]+")


def scored_form(body: str) -> str:
    """The form of a line its scores are computed on and kept under: runs of whitespace
    made one space, the ends stripped. Its scores are the line's own (the heads strip the
    text and their tokenizer collapses these runs; the classifier reads words), so
    "first!!" and " first!!  " share one memo entry."""
    return _SPACES.sub(" ", body).strip()


def scores_for(body: str) -> Scores:
    """The text's scores: from the memo, or with the lines being checked at this moment."""
    key = scored_form(body)
    found = memo.get(key)
    if found is None:
        found = scores_of(key)
        memo.put(key, found)
    return found


def _bar(policy: str) -> str:
    return Outcome.LIMIT_REACH if policy == Policy.SPAM_SCAM else Outcome.REVIEW


def check(author: User, body: str) -> Hide | None:
    """Why this message is hidden from the room, or None to show it."""
    scores = scores_for(body)
    verdict = text_verdict(content=body, author=author, language=author.language,
                           field="live_chat", classifier_from=_bar(Policy.HATE_HARASSMENT),
                           abuse_known=scores.abuse, heads_known=scores.heads,
                           config=text_config())
    hits = [d for d in verdict.decisions if SEVERITY[d.outcome] >= SEVERITY[_bar(d.policy)]]
    if not hits:
        return None
    worst = max(hits, key=lambda d: SEVERITY[d.outcome])
    if worst.source == "abuse_classifier":
        reason = LiveChatMessage.Hidden.CLASSIFIER
    else:
        reason = LiveChatMessage.Hidden.FILTERED
    words = SPAM_WORDS if worst.policy == Policy.SPAM_SCAM else HIDDEN_WORDS[reason]
    return Hide(reason, words)
