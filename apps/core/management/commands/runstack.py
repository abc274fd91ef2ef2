"""What `make run` runs: embedded services, migrations, then the ASGI server, one Celery
worker per queue and beat, then the demo data (so its first clips are processed while the
rest is made), until Ctrl-C stops every process it started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

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
        procs: dict[str, subprocess.Popen[bytes]] = {}
        for name, argv in commands.items():
            log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the child
            procs[name] = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(f"\nSwipeMe is running at {url}"))
        self.stdout.write(
            f"  admin:    {url}django-admin/  (user 'admin', password "
            f"'{os.environ.get('SWIPEME_ADMIN_PASSWORD', 'swipeme-admin')}')"
        )
        self.stdout.write(f"  API docs: {url}api/docs/   health: {url}readyz")
        self.stdout.write(f"  logs:     {log_dir}/   Ctrl-C stops everything.\n")

        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        try:
            if not no_seed:
                # with the workers already running: the first demo clips play within a
                # minute while the rest of the catalogue is still being made (Ctrl-C here
                # raises KeyboardInterrupt, and `finally` stops what was started)
                call_command("seed_demo")
            signal.signal(signal.SIGINT, stop)
            signal.signal(signal.SIGTERM, stop)
            while not stopping:
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        self.stderr.write(
                            f"{name} exited with {proc.returncode}; see "
                            f"{log_dir}/{name}.log. Stopping."
                        )
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            self.stdout.write("Stopping…")
            for proc in procs.values():
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            for proc in procs.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            embedded.stop(started)
            self.stdout.write("Stopped.")
