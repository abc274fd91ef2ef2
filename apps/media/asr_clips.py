"""The fixed clip set that auto-captions are measured on (bench/studio_asr.py, the tests):
sentences spoken by Debian's espeak-ng (GPL program; its output is ours), made on demand,
so the set is reproducible without committing audio. espeak-ng is in `make media-tools`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from apps.media.transcode import run_ffmpeg

# (name, voice, words per minute, text): everyday caption-style sentences, two voices.
CLIPS: list[tuple[str, str, int, str]] = [
    ("recipe", "en-us", 150,
     "Today I am going to show you how to make a quick pasta dinner in ten minutes."),
    ("weather", "en-us", 160,
     "The weather was sunny this morning but it started raining in the afternoon."),
    ("travel", "en", 150,
     "We took the train to the mountains and walked along the lake for three hours."),
    ("fitness", "en-us", 170,
     "Keep your back straight, breathe in, and lift the weight slowly over your head."),
    ("music", "en", 150,
     "This song reminds me of the summer when we played guitar on the beach every night."),
    ("thanks", "en-us", 150,
     "Thank you all for watching, please follow for more videos like this one."),
]


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, out: Path, *, voice: str = "en-us", wpm: int = 150) -> Path:
    """`text` spoken into a 16 kHz mono 16-bit WAV at `out` (what the backends read)."""
    raw = out.with_suffix(".raw.wav")
    # fixed programs and our own arguments
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", str(raw), text],  # noqa: S603,S607
                   check=True, capture_output=True)
    run_ffmpeg(["-i", str(raw), "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le", str(out)])
    raw.unlink()
    return out


def make_clips(directory: Path) -> list[tuple[str, Path, str]]:
    directory.mkdir(parents=True, exist_ok=True)
    return [(name, speak(text, directory / f"{name}.wav", voice=voice, wpm=wpm), text)
            for name, voice, wpm, text in CLIPS]
