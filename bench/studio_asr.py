"""Auto-captions benchmark: word error rate and speed (x real time) of each speech backend
(apps.media.asr) on the fixed clip set (apps.media.asr_clips: six sentences spoken by
espeak-ng, two voices, 150-170 words a minute). The default backend (settings.ASR_BACKEND)
is the one with the lower WER here.

    flock /tmp/helpers/bench.lock .venv/bin/python bench/studio_asr.py --runs 3 \
        --json var/bench/studio_asr.json

WER is the word-level edit distance over the reference words of all clips together, after
lower-casing and dropping punctuation (digits are not spelled out: "10" against "ten"
counts as an error). Speed is audio seconds / transcription seconds (above 1: faster than
real time), the model's one-time load left out (measured apart). Both backends run on one
thread (ASR_THREADS=1, what a media worker uses).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.test")

import django  # noqa: E402

django.setup()

from _runs import Runs, add_arguments  # noqa: E402

from apps.media import asr, asr_clips  # noqa: E402


def _seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as handle:
        return handle.getnframes() / handle.getframerate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, default_runs=3)
    parser.add_argument("--backends", default=",".join(asr.BACKENDS))
    args = parser.parse_args()
    if not asr_clips.espeak_available():
        sys.exit("espeak-ng is needed for the clip set (make media-tools)")
    names = args.backends.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        clips = asr_clips.make_clips(Path(tmp))
        audio = sum(_seconds(path) for _, path, _ in clips)
        reference = " ".join(text for _, _, text in clips)
        print(f"{len(clips)} clips, {audio:.1f} s of speech, "
              f"{len(asr.normalise(reference))} reference words")
        backends = {}
        for name in names:
            started = time.perf_counter()
            backend = asr.get_backend(name)
            backend.transcribe(clips[0][1], "en")  # loads the model
            print(f"{name}: model load + first clip {time.perf_counter() - started:.1f} s")
            backends[name] = backend
        runs = Runs("studio_asr", args)
        for run in runs:
            for name, backend in backends.items():
                hypothesis, spent = [], 0.0
                for clip, path, text in clips:
                    started = time.perf_counter()
                    words = backend.transcribe(path, "en")
                    spent += time.perf_counter() - started
                    said = " ".join(w.text for w in words)
                    hypothesis.append(said)
                    if run.index == 1:
                        print(f"  {name} {clip}: WER {asr.word_error_rate(text, said):.2f} "
                              f"| {said}")
                wer = asr.word_error_rate(reference, " ".join(hypothesis))
                print(f"{name}: WER {wer:.3f}, {audio / spent:.1f}x real time")
                run.figure(f"{name} WER", wer)
                run.figure(f"{name} speed", audio / spent, "x real time")
            if {"whisper", "pocketsphinx"} <= backends.keys():
                run.ratio("whisper/pocketsphinx transcription time",
                          audio / run.figures["whisper speed"],
                          audio / run.figures["pocketsphinx speed"])
        runs.summary()


if __name__ == "__main__":
    main()
