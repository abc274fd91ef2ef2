"""On-screen text (detection.ocr): how well rapidocr reads text burned into sampled frames in
the supported languages, what the edge pre-filter lets through, and the CPU a frame.

    .venv/bin/python bench/ocr_quality.py [--quick]

(also run by bench/moderation_quality.py). Frames are made here: 270x480 (the moderation
frames' size), a noisy two-colour gradient, a phrase in one of two overlay styles (white
with a black outline; black on a white box), JPEG quality 80. Japanese needs an installed
Japanese font (fonts-ipafont-gothic or fonts-noto-cjk) and Arabic an Arabic one
(fonts-kacst-one, fonts-noto-core); a language without its font is skipped and said so.
Accuracy is 1 - character error rate (spaces and case ignored) against the drawn phrase.
Also: the pre-filter's pass rate on frames without text (plain gradients and the demo
catalogue's patterns from `detection.calibration`)."""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import unicodedata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.test")

LATIN = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
FONTS = {
    "ar": [
        "/usr/share/fonts/truetype/kacst-one/KacstOne-Bold.ttf",
        "/usr/share/fonts/truetype/noto/NotoSansArabic-Bold.ttf",
    ],
    "ja": [
        "/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    ],
}
PHRASES = {
    "en": ["I will find you tonight", "Follow for more recipes", "Free gift card click link"],
    "es": ["Nadie te quiere aquí", "Receta fácil de pan", "Mañana vamos a la playa"],
    "pt": ["Você não merece viver", "Treino de pernas hoje", "Bom dia com café"],
    "fr": ["Rentre chez toi maintenant", "Recette de crêpes facile", "Le chat dort encore"],
    "de": ["Ich mache dich fertig", "Schönes Wochenende euch", "Neues Video morgen früh"],
    "tr": ["Seni bulacağım bu gece", "Güzel bir gün dilerim", "Yeni tarif geliyor"],  # noqa: RUF001
    "ar": ["سوف أجدك الليلة", "صباح الخير للجميع", "وصفة سهلة للخبز"],
    "ja": ["今夜お前を見つける", "おはようございます", "簡単なパンのレシピ"],
}


def _font(lang: str) -> str | None:
    for path in FONTS.get(lang, [LATIN]):
        if Path(path).exists():
            return path
    return None


def _background(rng: random.Random):  # type: ignore[no-untyped-def]
    import numpy as np
    from PIL import Image

    h, w = 480, 270
    y, x = np.mgrid[0:h, 0:w]
    c1 = np.array([rng.randint(0, 255) for _ in range(3)])
    c2 = np.array([rng.randint(0, 255) for _ in range(3)])
    t = ((x / w + y / h) / 2)[..., None]
    noise = np.random.default_rng(rng.randint(0, 10**6)).normal(0, 12, (h, w, 3))
    return Image.fromarray(np.clip(c1 * (1 - t) + c2 * t + noise, 0, 255).astype("uint8"))


def render(out: Path, *, quick: bool) -> tuple[list[tuple[Path, str, str]], list[str]]:
    """(frame, language, phrase) rows and the languages skipped for want of a font."""
    from PIL import ImageDraw, ImageFont

    rng = random.Random(7)
    rows: list[tuple[Path, str, str]] = []
    skipped = []
    for lang, phrases in PHRASES.items():
        font_path = _font(lang)
        if font_path is None:
            skipped.append(lang)
            continue
        for phrase in phrases[:1] if quick else phrases:
            for style in ("outline", "box"):
                img = _background(rng)
                draw = ImageDraw.Draw(img)
                extra: dict[str, Any] = (
                    {"direction": "rtl", "language": "ar"} if lang == "ar" else {}
                )
                size = 22
                while True:  # fit the frame's width
                    font = ImageFont.truetype(font_path, size)
                    box = draw.textbbox((0, 0), phrase, font=font, **extra)
                    if box[2] - box[0] <= 250 or size <= 14:
                        break
                    size -= 1
                x, y = max(4, (270 - (box[2] - box[0])) // 2), rng.randint(60, 380)
                if style == "box":
                    draw.rectangle(
                        (x - 6, y - 4, x + box[2] - box[0] + 6, y + box[3] - box[1] + 10),
                        fill=(255, 255, 255),
                    )
                    draw.text((x, y), phrase, font=font, fill=(0, 0, 0), **extra)
                else:
                    draw.text(
                        (x, y),
                        phrase,
                        font=font,
                        fill=(255, 255, 255),
                        stroke_width=2,
                        stroke_fill=(0, 0, 0),
                        **extra,
                    )
                path = out / f"frame_{len(rows):03d}_{lang}.jpg"
                img.save(path, quality=80)
                rows.append((path, lang, phrase))
    return rows, skipped


def _norm(s: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKC", s).lower() if not ch.isspace())


def _accuracy(ref: str, hyp: str) -> float:
    from search_data import levenshtein  # a sibling bench script (bench/ is on sys.path)

    a, b = _norm(ref), _norm(hyp)
    return max(0.0, 1 - levenshtein(a, b) / max(1, len(a)))


def _read(path: Path):  # type: ignore[no-untyped-def]
    import cv2

    image = cv2.imread(str(path))
    if image is None:
        raise ValueError(f"unreadable {path}")
    return image


def ocr_quality(*, quick: bool) -> None:

    from apps.moderation.detection import calibration, ocr

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        rows, skipped = render(base, quick=quick)
        ocr.read_frame(_read(rows[0][0]))  # load the models outside the timing
        by_lang: dict[str, list[float]] = {}
        cpu: dict[str, list[float]] = {}
        passed = 0
        for path, lang, phrase in rows:
            bgr = _read(path)
            passed += ocr.text_likelihood(bgr) >= ocr.TEXT_LIKELY
            start = ocr.cpu_seconds()  # Tesseract's Arabic reads run as child processes
            lines = ocr.read_frame(bgr)
            cpu.setdefault(lang, []).append(ocr.cpu_seconds() - start)
            by_lang.setdefault(lang, []).append(_accuracy(phrase, " ".join(t for t, _ in lines)))
        rng = random.Random(11)
        plain = []
        for i in range(4 if quick else 12):
            path = base / f"plain_{i}.jpg"
            _background(rng).save(path, quality=80)
            plain.append(path)
        samples = calibration.corpus(base / "corpus")
        demo = [s.path for s in (samples[::8] if quick else samples)]
        start = time.process_time()
        plain_pass = sum(ocr.text_likelihood(_read(p)) >= ocr.TEXT_LIKELY for p in plain)
        demo_pass = sum(ocr.text_likelihood(_read(p)) >= ocr.TEXT_LIKELY for p in demo)
        prefilter_ms = 1000 * (time.process_time() - start) / max(1, len(plain) + len(demo))
        # Arabic invented: every frame without Arabic read in full, pre-filter or not (the
        # others' text there is real: testsrc2's clock, the photos' labels)
        invented = [
            (p.name, ocr.text_likelihood(_read(p)) >= ocr.TEXT_LIKELY)
            for p in plain + demo
            if any(ocr.arabic_share(t) >= ocr.ARABIC_SHARE for t, _ in ocr.read_frame(_read(p)))
        ]
    print(f"\n== on-screen text ({ocr.model_version()}): {len(rows)} frames with text, 270x480")
    print(f"{'lang':<6} {'n':>3} {'char acc':>9}")
    for lang, accs in by_lang.items():
        print(f"{lang:<6} {len(accs):>3} {statistics.mean(accs):9.2f}")
    if skipped:
        print(f"skipped (no font installed to draw them): {', '.join(skipped)}")
    every = [c for values in cpu.values() for c in values]
    print(
        f"OCR CPU a frame: median {1000 * statistics.median(every):.0f} ms, "
        f"max {1000 * max(every):.0f} ms (one onnxruntime thread); Arabic frames (PP-OCR's "
        f"detector, then Tesseract on each unread line): median "
        f"{1000 * statistics.median(cpu.get('ar') or [0.0]):.0f} ms"
    )
    print(
        f"Arabic read on frames without any: {len(invented)} of {len(plain) + len(demo)}, "
        f"{sum(passes for _, passes in invented)} of them past the pre-filter"
        + (f" ({', '.join(name for name, _ in invented[:5])})" if invented else "")
    )
    print(
        f"pre-filter: {passed}/{len(rows)} text frames pass; {plain_pass}/{len(plain)} "
        f"plain gradients and {demo_pass}/{len(demo)} calibration frames (demo catalogue, "
        f"skin gradients, photos) pass; {prefilter_ms:.1f} ms CPU a frame"
    )


if __name__ == "__main__":
    import django

    django.setup()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    ocr_quality(quick="--quick" in sys.argv)
    print(f"load average {os.getloadavg()[0]:.1f} after")
