"""`manage.py live_ingest`: the live ingest in the foreground (what `runstack` supervises as
`live-ingest`): Debian's nginx-rtmp with the config rendered from
apps/live/ingest/nginx.conf.template, and one ffmpeg SRT listener per waiting or on-air
live (reconciled every second). It exits when nginx dies (the supervisor starts it again);
SIGTERM stops nginx and the listeners."""

from __future__ import annotations

import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, close_old_connections

from apps.live.ingest import config, srt

RECONCILE_SECONDS = 1.0


class Command(BaseCommand):
    help = "Run the live ingest (RTMP via nginx-rtmp, SRT via ffmpeg listeners)."
    requires_system_checks: list[str] = []  # a restart by the supervisor should be quick

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rtmp-bind")
        parser.add_argument("--rtmp-port", type=int)
        parser.add_argument("--control-port", type=int)
        parser.add_argument("--srt-bind")
        parser.add_argument("--srt-ports", help="first-last")
        parser.add_argument("--callback-url", help="the web server nginx-rtmp calls back")

    def handle(self, *args: Any, **options: Any) -> None:
        missing = config.available()
        if missing:
            raise CommandError(f"The live ingest cannot start: {missing}.")
        ports = options["srt_ports"]
        cfg = config.from_settings(
            rtmp_bind=options["rtmp_bind"], rtmp_port=options["rtmp_port"],
            control_port=options["control_port"], srt_bind=options["srt_bind"],
            srt_ports=config.parse_ports(ports) if ports else None,
            callback_url=options["callback_url"])
        path = config.write(cfg)
        exe = config.nginx_exe()
        assert exe is not None
        nginx = subprocess.Popen([exe, "-c", str(path), "-p", cfg.run_dir],  # noqa: S603
                                 stdin=subprocess.DEVNULL, start_new_session=True)
        config.publish_state(cfg)
        self.stdout.write(f"live ingest: RTMP on {cfg.rtmp_bind}:{cfg.rtmp_port}, SRT on "
                          f"{cfg.srt_bind}:{cfg.srt_ports[0]}-{cfg.srt_ports[1]}, "
                          f"callbacks to {cfg.callback_url}")
        self.stdout.flush()
        listeners = srt.Listeners(bind=cfg.srt_bind, ports=cfg.srt_ports,
                                  rtmp_local=cfg.rtmp_local,
                                  log_dir=Path(cfg.run_dir))
        stopping = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stopping.set())
        signal.signal(signal.SIGINT, lambda *_: stopping.set())
        try:
            while not stopping.wait(RECONCILE_SECONDS):
                if nginx.poll() is not None:
                    raise CommandError(f"nginx exited ({nginx.returncode}); see "
                                       f"{cfg.run_dir}/nginx-error.log")
                try:
                    close_old_connections()
                    listeners.reconcile(srt.wanted())
                except DatabaseError as exc:  # the database away: keep what runs
                    self.stderr.write(f"live ingest: SRT reconcile skipped: {exc}")
        finally:
            listeners.stop_all()
            if nginx.poll() is None:
                nginx.terminate()
                try:
                    nginx.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    nginx.kill()
                    nginx.wait()
