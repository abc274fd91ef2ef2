"""Live: glass-to-glass latency (LL-HLS and plain short-segment HLS) and the transcode's CPU
against plain ffmpeg with the same ladder.

    .venv/bin/python bench/live_latency.py [--runs 3] [--seconds 20]
    .venv/bin/python bench/live_latency.py --quick     # one run, 5 s a mode: does it run

What it does, in order:

1. Creates its own database (`bench_live_latency`, kept for the next run) with the test
   settings, its own Redis db (12) and live root (var/bench-live-media's), and starts the
   ASGI server (uvicorn) and, per mode, the real ingest (`manage.py live_ingest`: nginx-rtmp,
   Django's callbacks, the transcoder) on free loopback ports: `llhls` (the LL-HLS packager,
   production's default) and `hls` (ffmpeg's own 1 s-segment HLS, the fallback).
2. Per run and mode: a creator sets up a live; the encoder (ffmpeg, x264 ultrafast
   zerolatency, 1 s GOP, AAC) publishes 854x480 at 30 fps over RTMP, each frame carrying the
   wall clock of its own creation as a bit pattern (tests/live/clock_pattern.py: the
   "glass"). Debian's Chromium plays the top rendition's playlist with hls.js, defaults
   except `lowLatencyMode` (true for LL-HLS, false for plain), on a bare page of the site's
   origin; after a warm-up, every presented frame's clock is read back from the decoded
   frame (requestVideoFrameCallback + canvas): latency = now - drawn clock. p50 / p95 per
   mode, and hls.js's own latency estimate; the ratio LL-HLS / plain HLS of the two p50s
   (plain HLS is the same run's baseline).
3. In the LL-HLS phase, during the same window, plain ffmpeg runs the same ladder on the
   same published stream (`transcoder.ffmpeg_command` without the packager: ffmpeg's HLS
   muxer, same renditions, preset, recording and frame outputs) and the CPU time (utime +
   stime from /proc, the process and its children) of the live's transcoder (Python +
   packager thread + its ffmpeg) and of that plain ffmpeg are compared: the ratio is the
   cost of the LL-HLS packaging per stream.
4. Medians over `--runs` with the load average before and after each run (bench/_runs.py).

Only 127.0.0.1 is contacted. The machine has 2 cores shared with the server, the ingest,
the encoder and the browser: the figures include that contention.
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _runs import Run, Runs, add_arguments

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
HOST = "127.0.0.1"
DB_NAME = "bench_live_latency"
REDIS_DB = "12"
WIDTH, HEIGHT, FPS = 854, 480, 30
MODES = ("llhls", "hls")

os.environ.update({
    "DJANGO_SETTINGS_MODULE": "swipeme_site.settings.test",
    "SWIPEME_TEST_DB_NAME": DB_NAME,
    "SWIPEME_TEST_REDIS_DB": REDIS_DB,
    "SWIPEME_TEST_MEDIA_ROOT": str(BASE_DIR / "var" / "bench-live-media"),
    "SWIPEME_USE_TEST_DB": "0",
    "PYTHONPATH": str(BASE_DIR),
})

PLAYER = """<!doctype html><html><body style="margin:0;background:#000">
<video id="v" muted playsinline autoplay width="854" height="480"></video></body></html>"""


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start(args: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    full = {**os.environ, "SWIPEME_USE_TEST_DB": "1", **env}
    full.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # this process's only (Playwright's loop)
    return subprocess.Popen(args, cwd=BASE_DIR, env=full, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)


def wait_for(predicate: Any, seconds: float, what: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        answer = predicate()
        if answer:
            return answer
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.2):
            return True
    except OSError:
        return False


# --- CPU time from /proc -------------------------------------------------------------------

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of `root` and every descendant, by pid."""
    stats = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))):
            stats[int(entry.name)] = found
    wanted, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in stats.items():
            if ppid == parent and pid not in wanted:
                wanted.add(pid)
                frontier.append(pid)
    return {pid: stats[pid][1] for pid in wanted if pid in stats}


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before[pid] for pid in after if pid in before)


def transcoder_pid(live_id: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"apps.live.ingest.transcoder" in command and str(live_id).encode() in command:
            return int(entry.name)
    return None


def off_the_loop(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run `func` on a thread of its own: Playwright's sync API keeps an asyncio loop in
    this thread, where Django's async_to_sync (the end's broadcast to the chat room)
    refuses to run ("live announcement failed")."""
    from django.db import connections

    def call() -> Any:
        try:
            return func(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


# --- one mode ---------------------------------------------------------------------------


def measure(browser: Any, base_url: str, ingest_port: int, mode: str, seconds: float,
            *, cpu: bool, warmup: float = 6.0) -> dict[str, Any]:
    from apps.live.ingest import transcoder
    from apps.live.models import LiveStream
    from apps.live.services import live_end
    from apps.media.transcode import ffmpeg_exe
    from tests.live.clock_pattern import WATCH_JS, ClockEncoder
    from tests.live.live_helpers import host, set_up

    # the database is kept between invocations: a name of its own each time (the test
    # factory's user0, user1... collide with the last invocation's)
    creator = host(username=f"benchhost{mode}{os.urandom(4).hex()}")
    live, plain = set_up(creator)
    encoder = ClockEncoder(
        ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", str(FPS),
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv",
         f"rtmp://{HOST}:{ingest_port}/live/{plain}"],
        width=WIDTH, height=HEIGHT, fps=FPS, seconds=seconds + 60)
    plain_ffmpeg = None
    tpid = 0
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        def on_air() -> bool:
            live.refresh_from_db()
            return bool(live.state == LiveStream.State.LIVE)

        wait_for(on_air, 30, "the live to start")
        source = f"/live/{live.pk}/hls/480p/index.m3u8"
        page = context.new_page()
        page.route("**/__bench_player", lambda route: route.fulfill(
            status=200, content_type="text/html", body=PLAYER))
        page.goto(f"{base_url}/__bench_player")
        page.add_script_tag(path=str(BASE_DIR / "node_modules/hls.js/dist/hls.min.js"))
        live_dir = Path(os.environ["SWIPEME_LIVE_ROOT_RESOLVED"]) / str(live.pk)
        wait_for(lambda: (live_dir / "480p" / "index.m3u8").exists(), 30, "the playlist")
        page.evaluate("""([source, low]) => {
          const hls = new Hls({lowLatencyMode: low});
          window.__hls = hls; window.__stalls = 0;
          hls.on(Hls.Events.ERROR, (_e, d) => {
            if (d.details === 'bufferStalledError') window.__stalls += 1;
            if (d.fatal) window.__fatal = d.details; });
          hls.loadSource(source); hls.attachMedia(document.getElementById('v'));
        }""", [source, mode == "llhls"])
        video = page.locator("#v").element_handle()
        page.wait_for_function("() => document.getElementById('v').currentTime > 0.5",
                               timeout=60_000)
        page.wait_for_timeout(warmup * 1000)  # warm-up: hls.js settles on its target latency
        page.evaluate(WATCH_JS, [video, WIDTH])
        if cpu:
            found = transcoder_pid(int(live.pk))
            if found is None:
                raise SystemExit("the live's transcoder process was not found")
            tpid = found
            source_info = transcoder.probe(f"rtmp://{HOST}:{ingest_port}/live/{live.pk}")
            rungs = transcoder.ladder(source_info)
            plain_dir = Path(tempfile.mkdtemp(prefix="bench-plain-"))
            for sub in ("recording", "frames", *(f"{r.name}/s1" for r in rungs)):
                (plain_dir / sub).mkdir(parents=True, exist_ok=True)
            command = transcoder.ffmpeg_command(
                ffmpeg=ffmpeg_exe(), source_url=f"rtmp://{HOST}:{ingest_port}/live/{live.pk}",
                live_dir=plain_dir, session=1, source=source_info, rungs=rungs,
                preset=os.environ.get("BENCH_PRESET", "ultrafast"))
            plain_ffmpeg = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
            time.sleep(3)  # both past their start
            cpu_before = (tree_cpu(tpid), tree_cpu(plain_ffmpeg.pid))
        started = time.monotonic()
        page.wait_for_timeout(seconds * 1000)
        result: dict[str, Any] = page.evaluate("""() => ({latencies: window.__latencies,
            misreads: window.__misreads, stalls: window.__stalls, fatal: window.__fatal || null,
            hlsLatency: window.__hls.latency})""")
        if cpu:
            assert plain_ffmpeg is not None
            elapsed = time.monotonic() - started
            ours = cpu_between(cpu_before[0], tree_cpu(tpid))
            theirs = cpu_between(cpu_before[1], tree_cpu(plain_ffmpeg.pid))
            result.update(cpu_ours=ours / elapsed, cpu_plain=theirs / elapsed)
        return result
    finally:
        if plain_ffmpeg is not None:
            plain_ffmpeg.terminate()
            plain_ffmpeg.wait(timeout=20)
        context.close()
        live.refresh_from_db()
        if live.state != LiveStream.State.ENDED:
            off_the_loop(live_end, live, reason=LiveStream.EndReason.HOST, by=creator)
        encoder.stop()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def record(run: Run, results: dict[str, dict[str, Any]]) -> None:
    for mode, result in results.items():
        label = "LL-HLS" if mode == "llhls" else "plain HLS"
        values = result["latencies"]
        print(f"{label:<10} frames read {len(values):>5} (misread {result['misreads']}), "
              f"p50 {statistics.median(values):>6.0f} ms, p95 {pct(values, 0.95):>6.0f} ms, "
              f"hls.js latency {result['hlsLatency']:.2f} s, stalls {result['stalls']}"
              + (f", fatal {result['fatal']}" if result["fatal"] else ""), flush=True)
        run.figure(f"{label} glass-to-glass p50", statistics.median(values), "ms")
        run.figure(f"{label} glass-to-glass p95", pct(values, 0.95), "ms")
        if "cpu_ours" in result:
            print(f"CPU per stream: transcoder + LL-HLS packager {result['cpu_ours']:.3f} "
                  f"cores, plain ffmpeg same ladder {result['cpu_plain']:.3f} cores", flush=True)
            run.figure("transcoder CPU (LL-HLS)", result["cpu_ours"], "cores")
            run.figure("plain ffmpeg CPU (same ladder)", result["cpu_plain"], "cores")
            run.ratio("transcode CPU LL-HLS/plain ffmpeg", result["cpu_ours"],
                      result["cpu_plain"])
    if {"llhls", "hls"} <= set(results) and all(results[m]["latencies"] for m in MODES):
        run.ratio("glass-to-glass p50 LL-HLS/plain HLS",
                  statistics.median(results["llhls"]["latencies"]),
                  statistics.median(results["hls"]["latencies"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="measured seconds per mode and run (after a 6 s warm-up)")
    parser.add_argument("--warmup", type=float, default=6.0,
                        help="seconds hls.js plays before the measured window")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--quick", action="store_true",
                        help="one run, 5 s a mode after a 3 s warm-up: does it run at all")
    add_arguments(parser, default_runs=3)
    args = parser.parse_args()
    if args.quick:
        args.runs, args.seconds, args.warmup = 1, 5.0, 3.0

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS

    os.environ["SWIPEME_LIVE_ROOT_RESOLVED"] = str(settings.SWIPEME_LIVE_ROOT)
    # Playwright's sync API runs an asyncio loop in this thread; the ORM calls between its
    # calls are plain synchronous ones.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    print("database (migrations on the first run) ...", flush=True)
    # Kept between runs (migrating from scratch takes minutes on a busy 2-core machine).
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=True)
    logs = BASE_DIR / "var" / "log"
    logs.mkdir(parents=True, exist_ok=True)
    web_port = free_port()
    web = start([sys.executable, "-m", "uvicorn", "swipeme_site.asgi:application", "--host",
                 HOST, "--port", str(web_port), "--lifespan", "off", "--ws", "websockets",
                 "--no-access-log"], logs / "bench-live-web.log")
    procs = [web]
    try:
        wait_for(lambda: port_open(web_port), 60, "the web server")
        print(f"web server on {web_port}", flush=True)
        base_url = f"http://{HOST}:{web_port}"
        runs = Runs("live_latency", args)
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=args.chromium, headless=True,
                                             args=CHROMIUM_ARGS)
            for one in runs:
                results: dict[str, dict[str, Any]] = {}
                for mode in MODES:
                    rtmp, control, srt = free_port(), free_port(), free_port(socket.SOCK_DGRAM)
                    ingest = start(
                        [sys.executable, "manage.py", "live_ingest", "--rtmp-bind", HOST,
                         "--rtmp-port", str(rtmp), "--control-port", str(control),
                         "--srt-bind", HOST, "--srt-ports", f"{srt}-{srt}",
                         "--callback-url", base_url],
                        logs / f"bench-live-ingest-{mode}.log", SWIPEME_LIVE_PACKAGER=mode)
                    procs.append(ingest)
                    try:
                        wait_for(lambda port=rtmp: port_open(port), 60, "the ingest")
                        print(f"{mode}: ingest up, measuring ...", flush=True)
                        results[mode] = measure(browser, base_url, rtmp, mode, args.seconds,
                                                cpu=mode == "llhls", warmup=args.warmup)
                    finally:
                        ingest.terminate()
                        try:
                            ingest.wait(timeout=20)
                        except subprocess.TimeoutExpired:
                            ingest.kill()
                        procs.remove(ingest)
                record(one, results)
            browser.close()
        runs.summary()
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
