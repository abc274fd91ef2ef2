"""What `make run` runs: embedded services, migrations, then the ASGI server, one Celery
worker per queue and beat, then the demo data (so its first clips are processed while the
rest is made), until Ctrl-C stops every process it started. Meanwhile each of them that
dies is restarted with backoff (apps.core.supervision)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from apps.core.supervision import (
    Child,
    ProcessChild,
    ServiceChild,
    StackProcess,
    Supervisor,
    postgres_answers,
    redis_answers,
    stack_processes,
)
from swipeme_site import embedded

# Concurrency per queue: media transcodes are CPU-bound, the rest mostly wait on I/O.
# reco has two slots so the event consumer (every few seconds) never waits behind training.
# User uploads (`media`) and bulk media work (`media-bulk`: the demo catalogue, reprocessing)
# have a worker each, so an upload starts while the catalogue is still being transcoded.
QUEUE_CONCURRENCY = {"default": 2, "media-bulk": 1, "reco": 2, "notifications": 2}


class Command(BaseCommand):
    help = "Run the whole stack in the foreground (what `make run` does)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-seed", action="store_true")
        parser.add_argument("--web-workers", type=int, default=1)

    def handle(
        self, *args: Any, host: str, port: int, no_seed: bool, web_workers: int, **options: Any
    ) -> None:
        started = [s.name for s in embedded.start_wanted() if s.started_now]
        call_command("migrate", interactive=False, verbosity=0)
        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise wants it to exist
        python = sys.executable
        log_dir = embedded.VAR_DIR / "log"
        log_dir.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": os.environ.get(
                "DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev"
            ),
        }
        commands: dict[str, list[str]] = {
            "web": [
                python,
                "-m",
                "uvicorn",
                "swipeme_site.asgi:application",
                "--host",
                host,
                "--port",
                str(port),
                "--workers",
                str(web_workers),
                "--no-access-log",
                "--lifespan",
                "off",
                "--ws",
                "websockets",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "swipeme_site",
                "beat",
                "--loglevel",
                "INFO",
                "--scheduler",
                "django_celery_beat.schedulers:DatabaseScheduler",
                "--pidfile",
                "",
            ],
        }
        for queue in settings.SWIPEME_QUEUES:
            commands[f"worker-{queue}"] = [
                python,
                "-m",
                "celery",
                "-A",
                "swipeme_site",
                "worker",
                "-Q",
                queue,
                "-n",
                f"{queue}@%h",
                "--concurrency",
                str(settings.MEDIA_USER_WORKER_CONCURRENCY if queue == settings.MEDIA_QUEUE_USER
                    else QUEUE_CONCURRENCY.get(queue, 1)),
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ]
        # Higher apps' processes (the live ingest: nginx-rtmp and the SRT listeners, which
        # call this web server back); one that cannot run here is skipped and said why.
        web = "127.0.0.1" if host in {"0.0.0.0", "::", ""} else host  # noqa: S104
        skipped: list[StackProcess] = []
        for source in stack_processes:
            extra = source(python=python, web_url=f"http://{web}:{port}")
            if extra.argv is None:
                skipped.append(extra)
            else:
                commands[extra.name] = extra.argv
        # Every process is supervised: one that dies is restarted with backoff and logged
        # (apps.core.supervision), the embedded servers included, also when they hang.
        services = {
            "postgres": ServiceChild(
                "postgres", embedded.PG_PORT, embedded.postgres_start,
                probe=lambda: postgres_answers(embedded.PG_PORT),
                pid_file=embedded.VAR_DIR / "postgres" / "postmaster.pid"),
            "redis": ServiceChild(
                "redis", embedded.REDIS_PORT, embedded.redis_start,
                probe=lambda: redis_answers(embedded.REDIS_PORT),
                pid_file=embedded.VAR_DIR / "run" / "redis.pid"),
        }
        children: list[Child] = [services[name] for name in embedded.wanted()]
        processes = [ProcessChild(name, argv, env, log_dir / f"{name}.log")
                     for name, argv in commands.items()]
        children += processes
        supervisor = Supervisor(children)
        _log_supervision_to(self.stderr, log_dir / "supervisor.log")
        supervisor.start_all()
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nSwipeMe is running at {url}"))
        self.stdout.write(
            f"  admin:    {url}django-admin/  (user 'admin', password "
            f"'{os.environ.get('SWIPEME_ADMIN_PASSWORD', 'swipeme-admin')}')"
        )
        self.stdout.write(f"  API docs: {url}api/docs/   health: {url}readyz")
        for extra in skipped:
            self.stdout.write(f"  {extra.name}: not started: {extra.reason}")
        self.stdout.write(f"  logs:     {log_dir}/   Ctrl-C stops everything.\n")

        stopping = threading.Event()

        def stop(*_: Any) -> None:
            stopping.set()

        watcher = threading.Thread(target=supervisor.run, args=(stopping.is_set,),
                                   name="supervisor", daemon=True)
        watcher.start()
        seed: subprocess.Popen[bytes] | None = None
        try:
            signal.signal(signal.SIGINT, stop)
            signal.signal(signal.SIGTERM, stop)
            if not no_seed:
                # a one-shot child, with the workers already running: the first demo clips
                # play within a minute or two while the rest of the catalogue is made, and
                # Ctrl-C stops it with everything else
                seed = subprocess.Popen(
                    [python, str(settings.BASE_DIR / "manage.py"), "seed_demo"], env=env,
                    start_new_session=True)
            while not stopping.wait(0.5):
                if seed is not None and seed.poll() is not None:
                    if seed.returncode:
                        self.stderr.write(f"seed_demo exited with {seed.returncode}; the "
                                          "site runs without (all of) the demo data.")
                    seed = None
        finally:
            stopping.set()
            if seed is not None and seed.poll() is None:
                os.killpg(seed.pid, signal.SIGTERM)
                seed.wait(timeout=20)
            watcher.join(timeout=5)
            self.stdout.write("Stopping…")
            for child in processes:
                child.signal_stop()
            deadline = time.monotonic() + 20
            for child in processes:
                child.stop(timeout=max(0.1, deadline - time.monotonic()))
            embedded.stop(started)
            self.stdout.write("Stopped.")


def _log_supervision_to(stream: Any, path: Path) -> None:
    """Deaths and restarts go to the terminal and to var/log/supervisor.log."""
    found = logging.getLogger("apps.core.supervision")
    found.setLevel(logging.INFO)
    found.propagate = False  # once on the terminal, not again as the project's JSON line
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    for handler in (logging.StreamHandler(stream), logging.FileHandler(path)):
        handler.setFormatter(formatter)
        found.addHandler(handler)
