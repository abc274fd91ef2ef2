"""Text signals: the offline profanity/abuse classifier inside `alt-profanity-check`
(a linear model over character and word n-grams), staff term lists matched on a folded
form of the text, and link counting. Pure functions; the database-backed spam signals
(repetition, new-account velocity) are in `services`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.metadata import version

from confusable_homoglyphs import confusables

MAX_TEXT = 5000  # longer input is cut before any model or regex sees it
_LEET = str.maketrans({"0": "o", "1": "i", "!": "i", "|": "i", "l": "i", "3": "e",
                       "4": "a", "@": "a", "5": "s", "$": "s", "7": "t", "8": "b",
                       "9": "g", "+": "t"})
_SEPARATORS = re.compile(r"[^\w@$!|+]+")
_EDGE_PUNCT = re.compile(r"^[!|+]+|[!|+]+$")
_URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[a-z0-9-]{2,63}\.(?:com|net|org|io|ru|xyz|top|ly|gg|link|"
    r"click|shop|site|online|info|biz|me|co|app|tk|ml|cc)\b(?:/\S*)?", re.IGNORECASE)
SHORTENERS = frozenset({"bit.ly", "tinyurl.com", "t.co", "goo.gl", "cutt.ly", "is.gd",
                        "rb.gy", "t.ly", "shorturl.at", "tiny.cc"})


@cache
def model_version() -> str:
    return f"alt-profanity-check-{version('alt-profanity-check')}"


def clean(text: str) -> str:
    """Cut to size and drop invisible and control characters (zero-width joiners,
    direction overrides, NUL) that hide words from matching."""
    text = text[:MAX_TEXT]
    return "".join(ch for ch in text
                   if ch in "\n\t " or unicodedata.category(ch)[0] not in ("C",))


@lru_cache(maxsize=4096)
def _latin(ch: str) -> str:
    if ch.isascii():
        return ch
    found = confusables.is_confusable(ch, greedy=True, preferred_aliases=["latin"])
    if found:
        for glyph in found[0]["homoglyphs"]:
            candidate = str(glyph["c"])
            if len(candidate) == 1 and candidate.isascii() and candidate.isalnum():
                return candidate
    return ch


def _strip_accents(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(ch))


def fold_token(token: str) -> str:
    token = _EDGE_PUNCT.sub("", token)
    return "".join(_latin(ch) for ch in token).casefold().translate(_LEET)


def tokens(text: str) -> list[str]:
    """Folded words; a run of single letters ("f u c k", "f.u.c.k") is joined into one."""
    base = _strip_accents(unicodedata.normalize("NFKC", clean(text)))
    raw = [fold_token(t) for t in _SEPARATORS.split(base) if t]
    out: list[str] = []
    run: list[str] = []
    for token in raw:
        if len(token) == 1:
            run.append(token)
            continue
        if len(run) >= 3:
            out.append("".join(run))
        else:
            out.extend(run)
        run = []
        out.append(token)
    out.extend(["".join(run)] if len(run) >= 3 else run)
    return [t for t in out if t]


def squashed(text: str) -> str:
    return "".join(tokens(text))


@lru_cache(maxsize=8192)
def _term_pattern(term: str, substring: bool) -> re.Pattern[str] | None:
    """Folded words of the term, each letter allowed to repeat ("fuuuck")."""
    folded = tokens(term)
    if not folded:
        return None
    body = " ".join("".join(f"{re.escape(ch)}+" for ch in word) for word in folded)
    if substring:
        return re.compile(body.replace(" ", ""))
    return re.compile(rf"(?<!\S){body}(?!\S)")


@dataclass(frozen=True)
class TermHit:
    list_id: int
    term: str


def term_hits(text: str, lists: Iterable[tuple[int, list[str]]], *,
              substring: bool = False) -> list[TermHit]:
    """Terms (whole words or phrases, folded the same way) found in the text. With
    `substring` (usernames: no spaces to split on) a term of 4+ characters also matches
    inside the squashed text."""
    joined = " ".join(tokens(text))
    flat = squashed(text) if substring else ""
    hits = []
    for list_id, terms in lists:
        for term in terms:
            pattern = _term_pattern(term, False)
            if pattern is None:
                continue
            found = pattern.search(joined) is not None
            if not found and substring and len(term.strip()) >= 4:
                loose = _term_pattern(term, True)
                found = loose is not None and loose.search(flat) is not None
            if found:
                hits.append(TermHit(list_id, term))
    return hits


def parse_terms(block: str) -> list[str]:
    return [line.strip() for line in block.splitlines() if line.strip()
            and not line.strip().startswith("#")]


def abuse_score(text: str) -> float:
    """The classifier's probability that the text is offensive (0..1), the worse of the
    text as written and its folded form (which undoes leetspeak and look-alikes)."""
    return abuse_scores([text])[0]


@cache
def _abuse_model() -> Callable[[list[str]], Sequence[float]]:
    """The classifier as plain arithmetic: `profanity_check.predict_prob` is a
    CalibratedClassifierCV of 5 LinearSVCs with sigmoid calibration, and most of its ~5 ms
    a call (of CPU, whatever the batch) is scikit-learn's input checks around five tiny
    dot products. The same sum done directly (the vectorizer, then the 5 decision values,
    each calibrated, averaged) gives the same probabilities (tests/moderation/detection/
    test_text.py compares them) for ~1 ms. Any other model shape: `predict_prob` itself."""
    import numpy as np
    import profanity_check.profanity_check as pc
    from scipy.special import expit

    try:
        parts = pc.model.calibrated_classifiers_
        if pc.model.method != "sigmoid" or any(
            len(c.calibrators) != 1 or c.estimator.coef_.shape[0] != 1 for c in parts
        ):
            return pc.predict_prob  # type: ignore[no-any-return]
        weights = np.ascontiguousarray(np.stack([c.estimator.coef_[0] for c in parts]).T)
        intercepts = np.array([c.estimator.intercept_[0] for c in parts])
        slopes = np.array([c.calibrators[0].a_ for c in parts])
        offsets = np.array([c.calibrators[0].b_ for c in parts])
    except (AttributeError, IndexError, TypeError, ValueError):
        return pc.predict_prob  # type: ignore[no-any-return]

    def predict(texts: list[str]) -> Sequence[float]:
        decisions = pc.vectorizer.transform(texts) @ weights + intercepts
        return expit(-(slopes * decisions + offsets)).mean(axis=1)  # type: ignore[no-any-return]

    return predict


def abuse_scores(texts: Sequence[str]) -> list[float]:
    """`abuse_score` of each text in one call of the classifier (`_abuse_model`: its fixed
    cost per call is paid once for the batch: live chat's posts)."""
    predict_prob = _abuse_model()
    cleaned = [clean(t) for t in texts]
    variants = [v for t in cleaned if t.strip() for v in (t.lower(), " ".join(tokens(t)))]
    probs = iter(predict_prob(variants) if variants else [])
    return [round(float(max(next(probs), next(probs))), 4) if t.strip() else 0.0
            for t in cleaned]


def links(text: str) -> list[str]:
    return [m.group(0) for m in _URL.finditer(clean(text))][:50]


def link_spam_score(text: str) -> float:
    found = links(text)
    if not found:
        return 0.0
    short = sum(1 for link in found
                if re.sub(r"^(?:https?://)?(?:www\.)?", "", link.lower()).split("/")[0]
                in SHORTENERS)
    return round(min(1.0, 0.34 * len(found) + 0.3 * short), 4)


_TAGS = re.compile(r"[#@][\w.]+")


def normalised_for_repeats(text: str) -> str:
    """What counts as "the same text" when spotting copy-paste: folded words without links,
    hashtags or mentions (creators reuse their tags); "" when too little is left to tell."""
    words = tokens(_TAGS.sub(" ", _URL.sub(" ", clean(text))))
    return " ".join(words) if len(words) >= 3 and sum(map(len, words)) >= 12 else ""


def disposable_email(address: str) -> bool:
    """Whether the address is at a known throw-away domain (the `disposable-email-domains`
    list, ~10,000 domains, MIT), its parent domains included."""
    from disposable_email_domains import blocklist

    domain = address.rpartition("@")[2].strip().lower().rstrip(".")
    parts = domain.split(".")
    return any(".".join(parts[i:]) in blocklist for i in range(len(parts) - 1))
