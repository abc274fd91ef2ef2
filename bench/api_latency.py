"""API latency: the profile endpoint against the no-op ping, on one server, in one run.

    make bench      # manage.py services run -- python bench/api_latency.py $(BENCH_ARGS)
    .venv/bin/python bench/api_latency.py --duration 5 --concurrency 8

What it does, in order:

1. `manage.py migrate` and `manage.py seed_demo` against the dev database `swipeme` (the
   embedded PostgreSQL/Redis that `make bench` starts, or DATABASE_URL/REDIS_URL if set),
   so that the demo user `maya` exists.
2. Starts the ASGI server exactly as `make run` does (runstack): uvicorn
   `swipeme_site.asgi:application --workers 1 --no-access-log --lifespan off --ws websockets`
   with DJANGO_SETTINGS_MODULE=swipeme_site.settings.dev, on a free port of 127.0.0.1.
   One difference, announced in the output: the anonymous read throttle
   (SWIPEME_THROTTLE_ANON_READ, 600/min by default) is raised so that the benchmark measures
   the endpoint and not 429 answers.
3. For each endpoint (`GET /api/v1/ping`, then `GET /api/v1/users/maya`): one probe request
   that must answer 200 (otherwise the endpoint is reported as unavailable, with its status,
   and no figures are given for it), a warm-up, then a measured phase of fixed duration with
   the same concurrency, bounded by a maximum request count.
4. Prints requests per second, p50/p99 latency per endpoint and the ratios profile/ping.
5. Repeats 3-4 `--runs` times (default 5) on the same server and ends with the median of
   each figure and ratio over the runs, with the min-max, the load average before and
   after each run, and a warning for runs started on a busy machine (bench/_runs.py;
   `--json out.json` writes them). `--runs 1` is the single run of before.

The load generator is a small HTTP/1.1 keep-alive client on raw asyncio streams: one
connection per concurrent client, one request in flight per connection. It runs in this
process on the same machine as the server, so client and server share the cores: the
figures are for comparing endpoints with each other in one run, not absolute capacity.
Only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from _runs import Run, Runs, add_arguments

BASE_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"  # loopback only, always
SETTINGS = "swipeme_site.settings.dev"  # what `make run` uses
THROTTLE_ANON_READ = "100000000/min"

PING = "/api/v1/ping"
BARE_PING = "/ping"  # bench/bare_drf: a bare DRF APIView in a minimal Django project
PROFILE_TEMPLATE = "/api/v1/users/{username}"


# --- HTTP/1.1 keep-alive client ----------------------------------------------------------


class HttpError(Exception):
    pass


@dataclass
class Phase:
    """What one phase (warm-up or measured) collected."""

    latencies_ns: list[int] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def non_ok(self) -> int:
        return sum(n for s, n in self.statuses.items() if s != 200) + sum(self.errors.values())


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """One HTTP/1.1 response: (status, body, keep_alive)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise HttpError(f"bad status line {lines[0]!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    keep_alive = headers.get("connection", "").lower() != "close"
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                # trailers (if any) end with an empty line
                while (await reader.readuntil(b"\r\n")) != b"\r\n":
                    pass
                break
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
        return status, b"".join(chunks), keep_alive
    if "content-length" in headers:
        return status, await reader.readexactly(int(headers["content-length"])), keep_alive
    if status in (204, 304) or 100 <= status < 200:
        return status, b"", keep_alive
    return status, await reader.read(), False  # delimited by close


def build_request(path: str, port: int, headers: str = "") -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUser-Agent: swipeme-bench\r\n"
        f"Accept: application/json\r\n{headers}Connection: keep-alive\r\n\r\n"
    ).encode("ascii")


class Connection:
    def __init__(self, port: int, timeout: float) -> None:
        self.port = port
        self.timeout = timeout
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is not None and self.writer is not None:
            return self.reader, self.writer
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(HOST, self.port), self.timeout
        )
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader, self.writer = reader, writer
        return reader, writer

    async def get(self, request: bytes) -> tuple[int, bytes]:
        reader, writer = await self._open()
        try:
            writer.write(request)
            status, body, keep_alive = await asyncio.wait_for(read_response(reader), self.timeout)
        except BaseException:
            await self.close()
            raise
        if not keep_alive:
            await self.close()
        return status, body

    async def close(self) -> None:
        writer, self.reader, self.writer = self.writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def run_phase(
    port: int, path: str, *, concurrency: int, duration: float, max_requests: int,
    timeout: float, headers: str = "",
) -> Phase:
    """`concurrency` clients on keep-alive connections, each with one request in flight,
    until `duration` seconds have passed or `max_requests` have been sent."""
    phase = Phase()
    request = build_request(path, port, headers)
    budget = max_requests
    deadline = time.perf_counter() + duration
    clock = time.perf_counter_ns

    async def client() -> None:
        nonlocal budget
        conn = Connection(port, timeout)
        try:
            while budget > 0 and time.perf_counter() < deadline:
                budget -= 1
                started = clock()
                try:
                    status, _ = await conn.get(request)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                        TimeoutError, HttpError, ValueError) as exc:
                    name = type(exc).__name__
                    phase.errors[name] = phase.errors.get(name, 0) + 1
                    continue
                phase.latencies_ns.append(clock() - started)
                phase.statuses[status] = phase.statuses.get(status, 0) + 1
        finally:
            await conn.close()

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    phase.elapsed = time.perf_counter() - began
    return phase


def process_cpu_seconds(pid: int) -> float:
    """user+system CPU time of a process (all its threads), from /proc; NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(sorted_values: list[int], pct: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(pct / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1] / 1e6


# --- The server under test ---------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = SETTINGS
    env.setdefault("DJANGO_DEBUG", "0")  # as deployed; DJANGO_DEBUG=1 measures `make run`
    env["SWIPEME_THROTTLE_ANON_READ"] = THROTTLE_ANON_READ
    env.setdefault("DJANGO_LOG_LEVEL", "WARNING")
    env["PYTHONUNBUFFERED"] = "1"
    return env


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True,
        text=True, timeout=600, check=False,
    )


SEED_DIRECTLY = (
    "import django; django.setup(); "
    "from apps.web.management.commands.seed_demo import Command; Command().execute("
    "verbosity=1, no_color=True, force_color=False, skip_checks=True)"
)


def prepare_data(env: dict[str, str]) -> None:
    step = manage("migrate", "--no-input", "--verbosity", "0", env=env)
    if step.returncode != 0:
        sys.exit(f"manage.py migrate failed:\n{step.stdout}{step.stderr}")
    step = manage("seed_demo", env=env)
    if step.returncode != 0 and "Unknown command" in step.stderr:
        # `seed_demo` lives in apps.web; if that app is not in INSTALLED_APPS the command is
        # not registered. Run the same command class directly and say so.
        print("note: `manage.py seed_demo` is not registered (is apps.web in INSTALLED_APPS?);"
              " running apps.web.management.commands.seed_demo directly instead")
        step = subprocess.run(
            [sys.executable, "-c", SEED_DIRECTLY], cwd=BASE_DIR, env=env, capture_output=True,
            text=True, timeout=600, check=False,
        )
    if step.returncode != 0:
        sys.exit(f"seeding the demo data failed:\n{step.stdout}{step.stderr}")
    print(f"data: {step.stdout.strip().splitlines()[-1] if step.stdout.strip() else 'ready'}")


class Server:
    """uvicorn started with runstack's flags; stopped (whole process group) on exit."""

    def __init__(self, port: int, env: dict[str, str], log_path: Path,
                 app: str = "swipeme_site.asgi:application", health: str = "/healthz") -> None:
        self.port = port
        self.argv = [
            sys.executable, "-m", "uvicorn", app, "--host", HOST,
            "--port", str(port), "--workers", "1", "--no-access-log", "--lifespan", "off",
            "--ws", "websockets",
        ]
        self.health = health
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                self.argv, cwd=BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        url = f"http://{HOST}:{self.port}{self.health}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            with contextlib.suppress(OSError, urllib.error.URLError), \
                    urllib.request.urlopen(url, timeout=2) as resp:  # loopback only
                if resp.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"the server did not answer /healthz within {timeout}s:\n"
                           f"{self.log_tail()}")

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


# --- The benchmark -----------------------------------------------------------------------


@dataclass
class Result:
    name: str
    path: str
    available: bool
    note: str = ""
    requests: int = 0
    non_ok: int = 0
    rps: float = float("nan")
    p50: float = float("nan")
    p99: float = float("nan")
    max_ms: float = float("nan")
    server_cpu_ms: float = float("nan")  # server CPU time per 200 answer
    client_cpu_ms: float = float("nan")  # load-generator CPU time per answer
    problems: list[str] = field(default_factory=list)


async def probe(port: int, path: str, timeout: float, headers: str = "") -> tuple[int, bytes]:
    conn = Connection(port, timeout)
    try:
        return await conn.get(build_request(path, port, headers))
    finally:
        await conn.close()


async def measure(name: str, path: str, port: int, server_pid: int,
                  args: argparse.Namespace, headers: str = "") -> Result:
    try:
        status, body = await probe(port, path, args.timeout, headers)
    except (OSError, asyncio.IncompleteReadError, TimeoutError, HttpError) as exc:
        return Result(name, path, False, f"probe failed: {type(exc).__name__}: {exc}")
    if status != 200:
        snippet = " ".join(body[:400].decode("utf-8", "replace").split())[:100]
        hint = " (endpoint not there yet?)" if status == 404 else ""
        return Result(name, path, False, f"HTTP {status}{hint}: {snippet}")
    with contextlib.suppress(ValueError):
        json.loads(body)
    print(f"  {name}: warm-up {args.warmup:g}s ...", flush=True)
    await run_phase(port, path, concurrency=args.concurrency, duration=args.warmup,
                    max_requests=args.max_requests, timeout=args.timeout, headers=headers)
    print(f"  {name}: measuring {args.duration:g}s ...", flush=True)
    server_cpu, client_cpu = process_cpu_seconds(server_pid), time.process_time()
    phase = await run_phase(port, path, concurrency=args.concurrency, duration=args.duration,
                            max_requests=args.max_requests, timeout=args.timeout,
                            headers=headers)
    server_cpu = process_cpu_seconds(server_pid) - server_cpu
    client_cpu = time.process_time() - client_cpu
    answered = max(1, len(phase.latencies_ns))
    latencies = sorted(phase.latencies_ns)
    result = Result(
        name, path, True, requests=phase.ok + phase.non_ok, non_ok=phase.non_ok,
        rps=phase.ok / phase.elapsed if phase.elapsed else float("nan"),
        p50=percentile(latencies, 50), p99=percentile(latencies, 99),
        max_ms=latencies[-1] / 1e6 if latencies else float("nan"),
        server_cpu_ms=server_cpu * 1000 / max(1, phase.ok),
        client_cpu_ms=client_cpu * 1000 / answered,
    )
    bad = {s: n for s, n in phase.statuses.items() if s != 200}
    if bad:
        result.problems.append(f"non-200 answers {bad}")
    if phase.errors:
        result.problems.append(f"transport errors {phase.errors}")
    if phase.ok + phase.non_ok >= args.max_requests:
        result.problems.append(f"stopped at --max-requests={args.max_requests} before "
                               f"{args.duration:g}s")
    return result


def fmt(value: float, digits: int = 2) -> str:
    return "-" if value != value else f"{value:,.{digits}f}"  # NaN check


def report(results: list[Result], args: argparse.Namespace) -> int:
    print()
    print(f"{'endpoint':<9} {'path':<24} {'requests':>9} {'non-200':>8} {'req/s':>9} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'srv cpu/req':>12} {'cli cpu/req':>12}")
    print("-" * 116)
    for r in results:
        if not r.available:
            print(f"{r.name:<9} {r.path:<24} UNAVAILABLE - {r.note}")
            continue
        print(f"{r.name:<9} {r.path:<24} {r.requests:>9,} {r.non_ok:>8,} {fmt(r.rps, 0):>9} "
              f"{fmt(r.p50):>8} {fmt(r.p99):>8} {fmt(r.max_ms):>8} "
              f"{fmt(r.server_cpu_ms) + ' ms':>12} {fmt(r.client_cpu_ms) + ' ms':>12}")
    print()
    for r in results:
        for problem in r.problems:
            print(f"WARNING {r.name}: {problem}")
    ping, profile = results[0], results[1]
    bare = results[-1]
    if bare.name == "bare" and bare.available and not bare.problems:
        for r in results[:-1]:
            if r.available and not r.problems and r.name.startswith("ping"):
                print(f"ratio {r.name}/bare DRF: req/s {r.rps / bare.rps:.3f}   "
                      f"p50 {r.p50 / bare.p50:.2f}x   p99 {r.p99 / bare.p99:.2f}x   "
                      f"server CPU/request {r.server_cpu_ms / bare.server_cpu_ms:.2f}x")
    if ping.available and profile.available and not ping.problems and not profile.problems:
        print(f"ratio profile/ping: req/s {profile.rps / ping.rps:.3f}   "
              f"p50 {profile.p50 / ping.p50:.2f}x   p99 {profile.p99 / ping.p99:.2f}x   "
              f"server CPU/request {profile.server_cpu_ms / ping.server_cpu_ms:.2f}x")
        return 0
    if not profile.available:
        print(f"ratio profile/ping: not computed - the profile endpoint {profile.path} did "
              f"not answer 200 ({profile.note.split(':')[0]}); no figures are reported for it.")
    else:
        print("ratio profile/ping: not computed - see the warnings above.")
    return 1 if args.strict else 0


def record(run: Run, results: list[Result]) -> None:
    for r in results:
        if r.available:
            run.figure(f"{r.name} req/s", r.rps)
            run.figure(f"{r.name} p50", r.p50, "ms")
            run.figure(f"{r.name} p99", r.p99, "ms")
            run.figure(f"{r.name} server CPU/request", r.server_cpu_ms, "ms")
    ping, profile = results[0], results[1]
    bare = results[-1]
    if bare.name == "bare" and bare.available and not bare.problems:
        for r in results[:-1]:
            if r.available and not r.problems and r.name.startswith("ping"):
                run.ratio(f"{r.name}/bare req/s", r.rps, bare.rps)
                run.ratio(f"{r.name}/bare p99", r.p99, bare.p99)
    if ping.available and profile.available and not ping.problems and not profile.problems:
        run.ratio("profile/ping req/s", profile.rps, ping.rps)
        run.ratio("profile/ping p50", profile.p50, ping.p50)
        run.ratio("profile/ping p99", profile.p99, ping.p99)
        run.ratio("profile/ping server CPU/request", profile.server_cpu_ms,
                  ping.server_cpu_ms)


# The web client's call: a cookie (here the CSRF cookie alone) takes the whole middleware
# chain, sessions and CSRF included (apps.core.page_middleware), as every call did before.
COOKIE_HEADER = "Cookie: csrftoken=" + "b" * 32 + "\r\n"


async def run(args: argparse.Namespace, port: int, server_pid: int,
              bare: Server | None) -> list[Result]:
    profile_path = PROFILE_TEMPLATE.format(username=args.username)
    results = [await measure("ping", args.ping_path, port, server_pid, args),
               await measure("profile", args.profile_path or profile_path, port, server_pid,
                             args),
               await measure("ping-cookie", args.ping_path, port, server_pid, args,
                             COOKIE_HEADER)]
    if bare is not None:
        results.append(await measure("bare", BARE_PING, bare.port, bare.pid, args))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="measured seconds per "
                        "endpoint (default 10)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per "
                        "endpoint (default 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="keep-alive connections, "
                        "one request in flight each (default 8)")
    parser.add_argument("--max-requests", type=int, default=200_000, help="upper bound on "
                        "requests per phase (default 200000)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout, s")
    parser.add_argument("--username", default="maya", help="profile to fetch (default maya)")
    parser.add_argument("--ping-path", default=PING, help=argparse.SUPPRESS)
    parser.add_argument("--profile-path", default="", help="override the profile path "
                        "(e.g. /healthz to test the script itself)")
    parser.add_argument("--no-prepare", action="store_true", help="skip migrate/seed_demo "
                        "(when the data is known to be there)")
    parser.add_argument("--no-bare", action="store_true", help="do not start the bare DRF "
                        "project (bench/bare_drf) to compare the ping with")
    parser.add_argument("--strict", action="store_true", help="exit 1 when an endpoint is "
                        "unavailable or answered non-200 during the run")
    add_arguments(parser, default_runs=5)
    args = parser.parse_args()
    if args.duration <= 0 or args.warmup < 0 or args.concurrency < 1 or args.max_requests < 1:
        parser.error("duration > 0, warmup >= 0, concurrency >= 1, max-requests >= 1")

    env = server_env()
    cpus = os.cpu_count() or 0
    print("SwipeMe API latency benchmark")
    print(f"machine: {cpus} CPU core(s), shared by the server and this load generator "
          "(one process, asyncio, raw HTTP/1.1 keep-alive)")
    print(f"server:  uvicorn swipeme_site.asgi:application --workers 1 --no-access-log "
          f"--lifespan off --ws websockets  (as `make run`), {SETTINGS}, "
          f"DJANGO_DEBUG={env.get('DJANGO_DEBUG', 'unset (dev default: True)')}")
    print(f"         SWIPEME_THROTTLE_ANON_READ={THROTTLE_ANON_READ} for this server (default "
          "600/min) so that the anonymous read throttle does not answer 429")
    print(f"load:    {args.concurrency} connections, {args.warmup:g}s warm-up + "
          f"{args.duration:g}s measured per endpoint, at most {args.max_requests:,} "
          "requests per phase, 127.0.0.1 only")

    if args.no_prepare:
        print("data: migrate/seed_demo skipped (--no-prepare)")
    else:
        prepare_data(env)
    load = os.getloadavg()
    print(f"load average before the run: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          "(other work on the machine skews the figures)")
    # runstack does the same: whitenoise warns at start-up when STATIC_ROOT is missing.
    Path(env.get("SWIPEME_STATIC_ROOT", BASE_DIR / "staticfiles")).mkdir(parents=True,
                                                                         exist_ok=True)
    port = free_port()
    server = Server(port, env, BASE_DIR / "var" / "log" / "bench-web.log")
    bare: Server | None = None
    if not args.no_bare:
        bare_env = dict(env, DJANGO_SETTINGS_MODULE="bare_drf.settings",
                        PYTHONPATH=str(BASE_DIR / "bench"))
        bare = Server(free_port(), bare_env, BASE_DIR / "var" / "log" / "bench-bare.log",
                      app="bare_drf.asgi:application", health=BARE_PING)

    def on_signal(signum: int, _frame: object) -> None:
        server.stop()
        if bare is not None:
            bare.stop()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    runs, status = Runs("api_latency", args), 0
    try:
        server.start()
        print(f"server up on http://{HOST}:{port}/ (log: {server.log_path})", flush=True)
        if bare is not None:
            bare.start()
            print(f"bare DRF project (bench/bare_drf, same uvicorn flags) up on "
                  f"http://{HOST}:{bare.port}{BARE_PING}", flush=True)
        for one in runs:
            try:
                import uvloop

                results = uvloop.run(run(args, port, server.pid, bare))
            except ImportError:
                results = asyncio.run(run(args, port, server.pid, bare))
            status = max(status, report(results, args))
            record(one, results)
    finally:
        server.stop()
        if bare is not None:
            bare.stop()
    print(f"\nload average after the run: {os.getloadavg()[0]:.2f} (1 min)")
    runs.summary()
    return status


if __name__ == "__main__":
    sys.exit(main())
