"""Browser feed: time to first frame, and swipe to first frame with preloading on and off.

    .venv/bin/python manage.py services run -- .venv/bin/python bench/browser_feed.py
    .venv/bin/python bench/browser_feed.py --posts 6 --rounds 2 --profile fast-4g

What it does, in order:

1. Creates its own database (`bench_browser_feed`, dropped at the end) on the embedded
   PostgreSQL, and uses its own Redis logical db (13, emptied first), with the test
   settings (DEBUG off, WhiteNoise serving static files); `static/dist` must be built
   (`make setup`).
2. Starts a Celery worker and the ASGI server (uvicorn, one process) on a free port of
   127.0.0.1, then uploads `--posts` generated clips (360x640, 3 s, 30 fps, one lavfi test
   pattern each, one creator each) through the real tus upload and processing pipeline and
   waits until every rendition, poster and storyboard is ready.
3. For each round and each mode (preloading on, then off: `/?preload=0`), a fresh browser
   context (empty HTTP cache) in Debian's headless Chromium, with `prefers-reduced-motion`
   (the scroll jumps instead of animating, so the figure is the player's, not the scroll
   animation's) and Chromium's network throttling set through the DevTools protocol
   (`Network.emulateNetworkConditions`) to the chosen profile. It opens the feed, records
   the first video's first frame (a `requestVideoFrameCallback`), then swipes with the arrow
   key through the rest, each time after the current video has played for `--dwell`
   seconds, and records the time from the key press to the next video's first frame: the
   first `requestVideoFrameCallback` after its `play()`, i.e. the first frame presented
   after the swipe. For a preloaded video parked on its decoded first frame (the column
   "frame shown at swipe") that is the frame after it, a new one; "new frame" counts the
   swipes whose measured frame lies later in the video than where playback began. The
   first key press turns the sound on (any first interaction does); `--muted` keeps it
   off.
   One unmeasured load comes first (the server builds its feed pools on the first
   request), and the modes alternate which goes first in a round.
4. Prints, per mode, the first video's time to first frame (from navigation start and from
   the player's start), the swipe-to-first-frame p50, p95 and worst, the ratio off/on for
   the swipe, the first video's start rung (short edge) and the stalls (the player's
   rebuffers, `waiting` after the first frame) while each video played for `--dwell`
   seconds. For the slow-network goal (first frame within 2 s, no stall in the first 10 s
   of a 15 s clip): `--profile slow-4g --seconds 15 --dwell 10`.
5. Repeats 3-4 `--runs` times (default 3) against the same server and posts, and ends with
   the median of each figure and ratio over the runs, with the min-max, the load average
   before and after each run and a warning for runs started on a busy machine
   (bench/_runs.py; `--json out.json` writes them). `--runs 1` is the single run of before.

Only 127.0.0.1 is contacted. The machine has 2 cores shared with the server, worker and
databases: read the ratio, not the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _runs import Run, Runs, add_arguments

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
HOST = "127.0.0.1"
DB_NAME = "bench_browser_feed"
REDIS_DB = "13"
# Chromium DevTools' throttling presets (throughput in bytes/s, latency in ms).
PROFILES: dict[str, dict[str, float]] = {
    "fast-4g": {
        "latency": 60,
        "downloadThroughput": 9_000_000 / 8,
        "uploadThroughput": 1_500_000 / 8,
    },
    "slow-4g": {
        "latency": 150,
        "downloadThroughput": 1_600_000 / 8,
        "uploadThroughput": 750_000 / 8,
    },
    "none": {"latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
}

os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "swipeme_site.settings.test",
        "SWIPEME_TEST_DB_NAME": DB_NAME,
        "SWIPEME_TEST_REDIS_DB": REDIS_DB,
        "SWIPEME_USE_TEST_DB": "0",
        "PYTHONPATH": str(BASE_DIR),
    }
)


# the active video's player figures: stalls after its first frame, the rung it reached
QOE = """() => { const s = window.swipeme; const q = s.items[s.active].player.qoe;
  return {rebuffers: q.rebuffer_count, rebuffer_ms: q.rebuffer_ms, rung: q.rung}; }"""


# Where the first frame's time went: when each step of the first load ended (ms from
# navigation start; resource timing's responseEnd, the player's activation, the frame).
TRACE = r"""() => {
  const nav = performance.getEntriesByType('navigation')[0] || {};
  const res = performance.getEntriesByType('resource');
  const end = (test) => { const hit = res.filter((r) => test(r.name));
    return hit.length ? Math.round(Math.max(...hit.map((r) => r.responseEnd))) : null; };
  const first = (test) => { const hit = res.filter((r) => test(r.name));
    return hit.length ? Math.round(Math.min(...hit.map((r) => r.responseEnd))) : null; };
  const s = window.swipeme; const p = s.items[0] && s.items[0].player;
  return {
    html: Math.round(nav.responseEnd || 0), css: end((n) => n.endsWith('.css')),
    scripts: end((n) => /\/static\/dist\/.*\.m?js$/.test(n)),
    playlist: first((n) => n.endsWith('.m3u8')),
    init: first((n) => /\/init[^/]*\.mp4$/.test(n)), segment: first((n) => n.endsWith('.m4s')),
    player: p ? Math.round(p.activatedAt) : null, frame: Math.round(s.metrics[0].at),
    // the player's own steps (Player.marks; main: feed.js's body starts), and every request
    // before the frame: who asked (link, fetch, xmlhttprequest, ...), when, and its bytes
    // over the wire (0: the HTTP cache)
    marks: { ...(p && p.marks ? Object.fromEntries(Object.entries(p.marks)
      .map(([k, v]) => [k, Math.round(v)])) : {}), main: Math.round(s.startedAt || 0) },
    media: res.filter((r) => r.startTime < s.metrics[0].at)
      .map((r) => ({ name: r.name.split('/').slice(-2).join('/'), by: r.initiatorType,
                     start: Math.round(r.startTime), end: Math.round(r.responseEnd),
                     wire: r.transferSize, body: r.decodedBodySize })),
  };
}"""
TRACE_STEPS = ("html", "css", "scripts", "player", "playlist", "init", "segment", "frame")


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile (q in 0-100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SWIPEME_USE_TEST_DB": "1"}
    return subprocess.Popen(
        args, cwd=BASE_DIR, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


def wait_for_port(port: int, proc: subprocess.Popen[bytes], seconds: float = 300) -> None:
    # a busy machine took more than 60 s to import the project and listen
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the server exited; see var/log/bench-browser-web.log") from None
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def measure(
    browser: Any,
    base_url: str,
    *,
    preload: bool,
    profile: dict[str, float],
    posts: int,
    dwell: float,
    muted: bool = False,
    sound_join: bool = True,
) -> dict[str, Any]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    context = browser.new_context(
        base_url=base_url, viewport={"width": 390, "height": 844}, reduced_motion="reduce"
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"uncaught: {exc}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", {"offline": False, **profile})
    # not waiting for "load" (posters, the worker): the figures count from navigation start
    # anyway, and a busy machine took over the 30 s goto allows to get there
    query = "&".join(([] if preload else ["preload=0"]) + ([] if sound_join else ["sound_join=0"]))
    page.goto(f"/?{query}" if query else "/", wait_until="commit", timeout=120_000)
    try:
        page.wait_for_function(
            "() => window.swipeme && window.swipeme.metrics.length >= 1", timeout=120_000
        )
    except PlaywrightTimeoutError as exc:
        state = page.evaluate(
            "() => window.swipeme ? window.swipeme.items.map(i => "
            "[i.post.id, i.video.readyState, i.video.networkState]) : null"
        )
        raise SystemExit(f"the first video never played: items {state}, errors {problems}") from exc
    first = page.evaluate("() => window.swipeme.metrics[0]")
    trace = page.evaluate(TRACE)
    if muted:
        # the sound toggle twice: sound off, and the first key press no longer turns it on
        page.evaluate(
            "() => { const b = document.getElementById('sound-toggle'); b.click(); b.click(); }"
        )
    swipes: list[float] = []
    unmeasured: list[int] = []
    sound: list[float] = []  # key press to the sound joining (a preloaded swipe's sound_join)
    new_frames = 0
    from_start: list[float] = []
    preloaded = 0
    frame_ready = 0
    first_rung = page.evaluate("() => window.swipeme.items[0].player.qoe.rung")
    watched: list[dict[str, Any]] = []  # the QoE of each video after its dwell
    for index in range(1, posts):
        page.wait_for_timeout(dwell * 1000)
        watched.append(page.evaluate(QOE))
        if page.evaluate("() => window.swipeme.items.length") <= index:
            break
        page.keyboard.press("ArrowDown")
        page.wait_for_function(
            "n => window.swipeme.metrics.some(m => m.index === n)", arg=index, timeout=60_000
        )
        metric = page.evaluate("n => window.swipeme.metrics.find(m => m.index === n)", index)
        if metric["since_input_ms"] is not None:
            swipes.append(float(metric["since_input_ms"]))
        else:  # its first frame came without a swipe time (reported, not counted)
            unmeasured.append(index)
        if metric.get("sound_ms") is not None:
            sound.append(float(metric["sound_ms"]))
        from_start.append(float(metric["ttff_ms"]))
        frame = metric.get("frame") or {}
        # the frame measured is a new one: later in the video than where playback began
        new_frames += bool(frame) and frame["media_time"] > frame["from"]
        preloaded += bool(metric["preloaded"])
        frame_ready += bool(metric.get("frame_ready"))
    page.wait_for_timeout(dwell * 1000)
    watched.append(page.evaluate(QOE))
    # how many items the feed had, and its page requests (the first one comes with the HTML)
    shown = page.evaluate(
        "() => [window.swipeme.items.length, performance.getEntriesByType('resource')"
        ".filter((r) => r.name.includes('/api/v1/feed/')).length]"
    )
    context.close()
    return {
        "first_rung": first_rung,
        "trace": trace,
        "watched": watched,
        "first_nav_ms": float(first["at"]),
        "first_ttff_ms": float(first["ttff_ms"]),
        "swipes": swipes,
        "unmeasured": unmeasured,
        "shown": shown,
        "sound": sound,
        "swipe_player_ms": from_start,
        "preloaded": preloaded,
        "frame_ready": frame_ready,
        "new_frames": new_frames,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=3.0, help="each clip's length")
    parser.add_argument(
        "--dwell", type=float, default=2.0, help="seconds each video plays before the next swipe"
    )
    parser.add_argument("--profile", choices=sorted(PROFILES), default="fast-4g")
    parser.add_argument(
        "--muted",
        action="store_true",
        help="swipe with the sound off (by default the first key press turns "
        "it on, as any first interaction does)",
    )
    parser.add_argument(
        "--no-sound-join",
        action="store_true",
        help="a preloaded video plays with sound from play() (by default it starts muted "
        "and its sound joins at its first new frame: ?sound_join=0)",
    )
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    add_arguments(parser, default_runs=3)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import seed_posts
    from tests.conftest import CHROMIUM_ARGS
    from tests.factories import UserFactory

    if not (BASE_DIR / "static" / "dist" / "feed.js").exists():
        raise SystemExit("static/dist is not built: run `make setup` (npm run build)")
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    # The bench's own Redis db starts empty: a previous run's published feed pools (other
    # post ids) would otherwise be served.
    from django.core.cache import cache

    cache.clear()
    logs = BASE_DIR / "var" / "log"
    logs.mkdir(parents=True, exist_ok=True)
    port = free_port()
    worker = start(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "swipeme_site",
            "worker",
            "-Q",
            "default,media,reco,notifications",
            "--concurrency",
            "2",
            "--without-gossip",
            "--without-mingle",
            "-n",
            "bench-browser@%h",
        ],
        logs / "bench-browser-worker.log",
    )
    web = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "swipeme_site.asgi:application",
            "--host",
            HOST,
            "--port",
            str(port),
            "--lifespan",
            "off",
            "--ws",
            "websockets",
            "--no-access-log",
        ],
        logs / "bench-browser-web.log",
    )
    try:
        wait_for_port(port, web)
        creators = [UserFactory(username=f"bench_creator_{i}") for i in range(args.posts)]
        with tempfile.TemporaryDirectory() as tmp:
            print(f"seeding {args.posts} posts through the pipeline ...", flush=True)
            seed_posts(Path(tmp), creators, count=args.posts, seconds=args.seconds)
        base_url = f"http://{HOST}:{port}"
        profile = PROFILES[args.profile]
        runs = Runs("browser_feed", args)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(
                executable_path=args.chromium, headless=True, args=CHROMIUM_ARGS
            )
            # one unmeasured load: the server's first feed request builds its pools
            measure(browser, base_url, preload=True, profile=PROFILES["none"], posts=2, dwell=0.5)
            for one in runs:
                results: dict[bool, list[dict[str, Any]]] = {True: [], False: []}
                for round_ in range(args.rounds):
                    # alternate which mode goes first, so neither always meets a colder server
                    for preload in (True, False) if round_ % 2 == 0 else (False, True):
                        results[preload].append(
                            measure(
                                browser,
                                base_url,
                                preload=preload,
                                profile=profile,
                                posts=args.posts,
                                dwell=args.dwell,
                                muted=args.muted,
                                sound_join=not args.no_sound_join,
                            )
                        )
                report(results, args)
                record(one, results)
            browser.close()
        runs.summary()
    finally:
        for proc in (web, worker):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        connection.creation.destroy_test_db(old_name, verbosity=0)


def record(run: Run, results: dict[bool, list[dict[str, Any]]]) -> None:
    swipe_p50 = {}
    for preload in (True, False):
        mode = "preload on" if preload else "preload off"
        measured = results[preload]
        swipes = [s for r in measured for s in r["swipes"]]
        swipe_p50[preload] = statistics.median(swipes) if swipes else None
        if measured:
            run.figure(
                f"{mode} first frame (nav)",
                statistics.median(r["first_nav_ms"] for r in measured),
                "ms",
            )
            run.figure(
                f"{mode} first frame (player)",
                statistics.median(r["first_ttff_ms"] for r in measured),
                "ms",
            )
        run.figure(f"{mode} swipe p50", swipe_p50[preload], "ms")
        run.figure(f"{mode} swipe p95", percentile(swipes, 95) if swipes else None, "ms")
        watched = [w for r in measured for w in r["watched"]]
        run.figure(f"{mode} videos stalled", sum(w["rebuffers"] > 0 for w in watched), "")
        run.figure(f"{mode} swipe max", max(swipes) if swipes else None, "ms")
        sound = [s for r in measured for s in r["sound"]]
        run.figure(f"{mode} sound joined p50", statistics.median(sound) if sound else None, "ms")
    run.ratio("swipe p50 preload off/on", swipe_p50[False], swipe_p50[True])


def report(results: dict[bool, list[dict[str, Any]]], args: argparse.Namespace) -> None:
    print(
        f"\nprofile {args.profile}: {PROFILES[args.profile]}; {args.posts} posts, "
        f"{args.rounds} rounds, {args.seconds:g} s clips, {args.dwell:g} s per video, "
        f"sound {'off' if args.muted else 'on'}"
        f"{'' if args.muted or args.no_sound_join else ' (joining at the first frame)'}; "
        "load average "
        f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
    )
    print(
        f"{'mode':<14}{'first frame (nav)':>19}{'first frame (player)':>22}"
        f"{'swipe p50':>11}{'swipe p95':>11}{'swipe max':>11}{'player p50':>12}{'swipes':>8}"
        f"{'preloaded':>11}{'frame shown at swipe':>22}{'new frame':>12}"
        f"{'start rung':>12}{'stalled':>10}{'stall ms':>10}"
    )
    medians: dict[bool, float] = {}
    for preload in (True, False):
        runs = results[preload]
        swipes = [s for r in runs for s in r["swipes"]]
        swipe_player = [s for r in runs for s in r["swipe_player_ms"]]
        nav = statistics.median(r["first_nav_ms"] for r in runs)
        first_player = statistics.median(r["first_ttff_ms"] for r in runs)
        medians[preload] = statistics.median(swipes) if swipes else float("nan")
        label = "preload on" if preload else "preload off"
        watched = [w for r in runs for w in r["watched"]]
        rungs = sorted({str(r["first_rung"]) for r in runs})
        print(
            f"{label:<14}{nav:>16.0f} ms{first_player:>19.0f} ms{medians[preload]:>8.0f} ms"
            f"{(percentile(swipes, 95) if swipes else float('nan')):>8.0f} ms"
            f"{(max(swipes) if swipes else float('nan')):>8.0f} ms"
            f"{statistics.median(swipe_player) if swipe_player else float('nan'):>9.0f} ms"
            f"{len(swipes):>8}"
            f"{sum(r['preloaded'] for r in runs):>11}"
            f"{sum(r['frame_ready'] for r in runs):>22}"
            f"{sum(r['new_frames'] for r in runs):>12}"
            f"{'/'.join(rungs):>12}"
            f"{sum(w['rebuffers'] > 0 for w in watched):>6}/{len(watched):<3}"
            f"{sum(w['rebuffer_ms'] for w in watched):>10}"
        )
    for preload in (True, False):
        shown = [tuple(r["shown"]) for r in results[preload]]
        print(
            f"{'preload on' if preload else 'preload off'}: (items, feed API requests) "
            f"per load: {shown}"
        )
    for preload in (True, False):
        missed = [i for r in results[preload] for i in r["unmeasured"]]
        if missed:
            print(
                f"{'preload on' if preload else 'preload off'}: swipes without a time "
                f"(to item): {missed}"
            )
    print("\nthe first load, ms from navigation start to the end of each step (median):")
    for preload in (True, False):
        steps = []
        for step in TRACE_STEPS:
            values = [
                r["trace"][step] for r in results[preload] if r["trace"].get(step) is not None
            ]
            steps.append(f"{step} {statistics.median(values):.0f}" if values else f"{step} -")
        print(f"  {'preload on' if preload else 'preload off'}: {', '.join(steps)}")
    print("the player's steps in the first load, ms from navigation start (median):")
    for preload in (True, False):
        names: dict[str, list[float]] = {}
        for r in results[preload]:
            for name, at in (r["trace"].get("marks") or {}).items():
                names.setdefault(name, []).append(at)
        ordered = sorted(names.items(), key=lambda kv: statistics.median(kv[1]))
        marks = ", ".join(f"{name} {statistics.median(at):.0f}" for name, at in ordered)
        print(f"  {'preload on' if preload else 'preload off'}: {marks or '-'}")
    print("the requests before the first frame (the first load of each mode; wire 0 = from "
          "the HTTP cache):")
    for preload in (True, False):
        if not results[preload]:
            continue
        print(f"  {'preload on' if preload else 'preload off'}:")
        for m in results[preload][0]["trace"].get("media") or []:
            print(f"    {m['name'][-40:]:<40}{m['by']:>16}{m['start']:>7} -> {m['end']:>5} ms"
                  f"{m['wire']:>9} B wire{m['body']:>9} B body")
    for preload in (True, False):
        sound = [s for r in results[preload] for s in r["sound"]]
        if sound:
            print(
                f"{'preload on' if preload else 'preload off'}: the sound joined "
                f"{statistics.median(sound):.0f} ms p50 / {max(sound):.0f} ms max after the key "
                f"press ({len(sound)} swipes; the video moved first)"
            )
    if medians[True] > 0:
        print(
            f"\nswipe to first frame, preload off / on: {medians[False] / medians[True]:.1f}x"
            f"  (goal: preloaded < 100 ms: {'met' if medians[True] < 100 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
