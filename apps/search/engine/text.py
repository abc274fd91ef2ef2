"""The one text normaliser of search: every backend indexes `index_tokens(...)` and searches
`plan_query(...)`, so they agree on what a word is whatever engine stores it.

- `normalize`: drops what is not text (NUL, other controls, lone surrogates), NFKC, casefold,
  folds accents of Latin/Greek/Cyrillic letters (é -> e, ß -> ss, ø -> o) while keeping the
  marks that change a letter elsewhere (Japanese dakuten: が is not か; Indic vowel signs),
  and Arabic spelling variants (alef/hamza forms, alef maqsura, teh marbuta, tatweel and
  harakat removed).
- Words are runs of letters, marks and digits. `_ ' - .` inside a run join its parts
  ("charli_damelio", "D'Amelio"): the parts and their concatenation are both indexed, and
  names are also indexed with all their words written together, so "charli damelo" (joined
  "charlidamelo", one typo away) finds @charlidamelio.
- Scripts written without spaces (Chinese, Japanese, Korean, Thai) are indexed as character
  bigrams plus single characters; a query's such run must match all its bigrams.
- Typo budget per word as Meilisearch's default: none under 5 characters, 1 from 5, 2 from 9.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

MAX_QUERY_CHARS = 400  # of raw input looked at (the API refuses more than 200 anyway)
MAX_QUERY_TERMS = 16
MAX_TOKEN_CHARS = 64  # longer tokens are cut (engines have term size limits)
MAX_FIELD_CHARS = 20_000
MAX_FIELD_TOKENS = 4_000

# Inside a word these join its parts: _ ' and its typographic forms (U+2019, U+02BC), `,
# hyphens (U+2010, U+2011), . and the middle dot.
_CONNECTORS = frozenset("_'\u2019\u02bc`-\u2010\u2011.\u00b7")
# Characters dropped before anything else: C0/C1 controls, surrogates, noncharacters.
_DROP_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")

# Letters NFKD does not decompose but that users type without their stroke:
# o-slash, l-stroke, d-stroke, eth, h-bar, dotless i, t-bar, b-bar, ae, oe, thorn, long s.
_LETTER_FOLD = str.maketrans({
    "\u00f8": "o", "\u0142": "l", "\u0111": "d", "\u00f0": "d", "\u0127": "h",
    "\u0131": "i", "\u0167": "t", "\u0180": "b", "\u00e6": "ae", "\u0153": "oe",
    "\u00fe": "th", "\u017f": "s",
})

# Arabic: alef with hamza above/below, with madda, wasla (and two Urdu forms) -> alef; waw and
# yeh with hamza -> waw, yeh; alef maqsura, Farsi yeh -> yeh; keheh -> kaf; teh marbuta ->
# heh; tatweel (the stretching line) dropped.
_ALEF, _WAW, _YEH, _KAF, _HEH = "\u0627", "\u0648", "\u064a", "\u0643", "\u0647"
_ARABIC_FOLD = str.maketrans({
    "\u0623": _ALEF, "\u0625": _ALEF, "\u0622": _ALEF, "\u0671": _ALEF, "\u0672": _ALEF,
    "\u0673": _ALEF, "\u0624": _WAW, "\u0626": _YEH, "\u0649": _YEH, "\u06cc": _YEH,
    "\u06a9": _KAF, "\u0629": _HEH, "\u0640": None,
})


def _is_foldable_base(ch: str) -> bool:
    """Scripts whose combining marks are accents to fold: Latin (incl. extended and IPA),
    Greek, Cyrillic. Kana, Indic, Thai... keep theirs (they change the letter)."""
    o = ord(ch)
    return o < 0x0530 or 0x1D00 <= o <= 0x1FFF or 0x2C60 <= o <= 0x2C7F or 0xA720 <= o <= 0xA7FF


def _is_dropped_mark(ch: str) -> bool:
    """Marks removed whatever their base: Arabic harakat and Quranic marks, Hebrew points."""
    o = ord(ch)
    return (0x064B <= o <= 0x065F or o == 0x0670 or 0x06D6 <= o <= 0x06ED
            or 0x0591 <= o <= 0x05C7)


def _fold_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    out: list[str] = []
    base = ""
    for ch in decomposed:
        if unicodedata.combining(ch):
            if _is_dropped_mark(ch) or (base and _is_foldable_base(base)):
                continue
        else:
            base = ch
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def clean(text: str) -> str:
    """`text` without what no store accepts (NUL, lone surrogates), otherwise unchanged."""
    if text.isascii() and "\x00" not in text:
        return text
    return text.replace("\x00", "").encode("utf-8", "ignore").decode("utf-8")


def normalize(text: str) -> str:
    """Case-, accent- and width-folded text; never raises on any `str`."""
    if not text:
        return ""
    text = _DROP_RE.sub(" ", text)
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _fold_marks(text).translate(_LETTER_FOLD).translate(_ARABIC_FOLD)
    return text


_ASCII_GROUP_RE = re.compile(r"[a-z0-9]+(?:[_'`\-.][a-z0-9]+)*")
_ASCII_CONNECTOR_RE = re.compile(r"[_'`\-.]")


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    unspaced: bool  # CJK-like: match by bigrams, no typos


def _mark_ranges() -> str:
    """A regex class body of every combining mark (category M) in the planes that have
    them (built once at import: Python's `\\w` has letters and digits but no marks)."""
    spans: list[str] = []
    first = -1
    for o in [*range(0x20000), *range(0xE0000, 0xE0200), 0x10FFFF]:
        mark = unicodedata.category(chr(o))[0] == "M"
        if mark and first < 0:
            first = o
        elif not mark and first >= 0:
            spans.append(f"\\u{first:04x}-\\U{o - 1:08x}" if first < 0x10000
                         else f"\\U{first:08x}-\\U{o - 1:08x}")
            first = -1
    return "".join(spans)


_MARKS = f"[{_mark_ranges()}]"
_WORD = f"(?:[^\\W_]|{_MARKS})"
_CONNECTOR_CLASS = "[" + re.escape("".join(sorted(_CONNECTORS))) + "]"
_GROUP_RE = re.compile(f"{_WORD}+(?:{_CONNECTOR_CLASS}{_WORD}+)*")
_CONNECTOR_RE = re.compile(_CONNECTOR_CLASS)
_UNSPACED = (  # scripts written without spaces: CJK, Thai, Lao, Khmer, Myanmar
    "[\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff\u3040-\u30ff"
    "\u3130-\u318f\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\uff66-\uff9f\U00020000-\U0002ffff]")
# An unspaced run keeps the marks that follow its characters.
_UNSPACED_RE = re.compile(f"({_UNSPACED}(?:{_UNSPACED}|{_MARKS})*)")


def is_unspaced(token: str) -> bool:
    """Whether a token is (part of) a run of a script written without spaces (searched
    by bigrams, never with typos)."""
    return not token.isascii() and _UNSPACED_RE.search(token) is not None


def _groups(text: str) -> Iterator[list[Segment]]:
    """Runs of word characters (letters, marks, digits) joined by single connectors
    ("charli_damelio", "d'amelio"), each as its segments; a run of an unspaced script is
    its own segment (its bigrams are all kept, whatever its length)."""
    if text.isascii():  # most text once folded
        for match in _ASCII_GROUP_RE.finditer(text):
            yield [Segment(part[:MAX_TOKEN_CHARS], False)
                   for part in _ASCII_CONNECTOR_RE.split(match.group())]
        return
    for match in _GROUP_RE.finditer(text):
        group: list[Segment] = []
        for part in _CONNECTOR_RE.split(match.group()):
            if part.isascii():
                group.append(Segment(part[:MAX_TOKEN_CHARS], False))
                continue
            for i, piece in enumerate(_UNSPACED_RE.split(part)):
                if piece:  # odd pieces are the unspaced runs the split kept
                    group.append(Segment(piece, True) if i % 2
                                 else Segment(piece[:MAX_TOKEN_CHARS], False))
        yield group


def typo_budget(word: str) -> int:
    """Typos a word of this length may carry (Meilisearch's default)."""
    n = len(word)
    return 0 if n < 5 else 1 if n < 9 else 2


def _cjk_grams(run: str) -> list[str]:
    if len(run) == 1:
        return [run]
    return [run[i:i + 2] for i in range(len(run) - 1)]


def index_tokens(text: str, *, joined: bool = False) -> list[str]:
    """The terms a field's text is indexed under, in order (duplicates kept for term
    frequency). `joined` (names, handles, titles) adds all its words written together."""
    norm = normalize(text[:MAX_FIELD_CHARS])
    tokens: list[str] = []
    spaced_words: list[str] = []
    for group in _groups(norm):
        parts: list[str] = []
        for seg in group:
            if seg.unspaced:
                tokens.extend(seg.text)  # single characters (one-character queries)
                if len(seg.text) > 1:
                    tokens.extend(_cjk_grams(seg.text))
            else:
                tokens.append(seg.text)
                parts.append(seg.text)
                spaced_words.append(seg.text)
        if len(parts) > 1:
            tokens.append("".join(parts)[:MAX_TOKEN_CHARS])
        if len(tokens) >= MAX_FIELD_TOKENS:
            break
    if joined and len(spaced_words) > 1:
        whole = "".join(spaced_words)[:MAX_TOKEN_CHARS]
        if whole != tokens[-1]:  # one handle "a_b" already added its concatenation
            tokens.append(whole)
    return tokens[:MAX_FIELD_TOKENS]


@dataclass(frozen=True, slots=True)
class QueryTerm:
    text: str
    typos: int  # edit distance allowed (0 for CJK grams and short words)
    prefix: bool  # the last word while typing: also matches as a prefix


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """Every term must match; or, for names, `joined` alone (the words written together)."""

    normalized: str
    terms: tuple[QueryTerm, ...]
    joined: QueryTerm | None

    @property
    def empty(self) -> bool:
        return not self.terms


def plan_query(query: str, *, prefix: bool = False) -> QueryPlan:
    """What the backends search for `query`. Never raises; an unmatchable query (blank,
    punctuation, emoji) gives an empty plan."""
    norm = normalize(query[:MAX_QUERY_CHARS])
    segments = [seg for group in _groups(norm) for seg in group]
    terms: list[QueryTerm] = []
    words: list[str] = []
    for i, seg in enumerate(segments):
        last = prefix and i == len(segments) - 1
        if seg.unspaced:
            terms.extend(QueryTerm(g, 0, False) for g in _cjk_grams(seg.text))
        else:
            words.append(seg.text)
            terms.append(QueryTerm(seg.text, typo_budget(seg.text), last))
    terms = list(dict.fromkeys(terms))[:MAX_QUERY_TERMS]
    joined = None
    if len(words) > 1 and len(words) == len(segments):
        text = "".join(words)[:MAX_TOKEN_CHARS]
        joined = QueryTerm(text, typo_budget(text), prefix)
    return QueryPlan(" ".join(s.text for s in segments), tuple(terms), joined)


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Optimal-string-alignment distance (a swap of two neighbours costs 1, as in the
    engines' Levenshtein automata), or `limit + 1` once it is certainly above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return min(prev[-1], limit + 1)


def prefix_distance(word: str, term: str, limit: int = 2) -> int:
    """Smallest distance between `word` and a prefix of `term` (typing with typos)."""
    best = limit + 1
    for end in range(max(0, len(word) - limit), min(len(term), len(word) + limit) + 1):
        best = min(best, edit_distance(word, term[:end], limit))
        if best == 0:
            break
    return best
