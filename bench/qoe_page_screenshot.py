"""A desktop screenshot of the staff console's QoE page (issue 22), for a person to look
at: not a test and not a benchmark.

    DATABASE_URL=postgres://postgres@127.0.0.1:54329/<a migrated database> \\
        .venv/bin/python bench/qoe_page_screenshot.py [--out var/artifacts/screenshots/qoe.png]

Writes a week of made-up QoE reports (the QoE tests' plays, repeated over 7 days with some
spread) into a temporary lake, adds a staff user and a crossed threshold, starts the ASGI
server (uvicorn) with that lake, signs in through the console's login form in Debian's
Chromium (Playwright) and saves a full-page screenshot at 1440x900. The rows it adds are
removed at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "var/artifacts/screenshots/qoe-page.png"))
    args = parser.parse_args()
    lake = Path(tempfile.mkdtemp(prefix="qoe-lake-"))
    os.environ["SWIPEME_LAKE_ROOT"] = str(lake)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev")
    import django

    django.setup()
    from django.utils import timezone
    from playwright.sync_api import sync_playwright

    from apps.accounts.models import User
    from apps.analytics.models import QoeThreshold
    from tests.analytics.qoe.test_qoe import PLAYS, _write
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS

    rng = random.Random(22)
    today = timezone.now().date()
    for back in range(7):
        day = today - timedelta(days=back)
        worse = 1 + 0.12 * (6 - back)  # the week drifts worse: the charts have a shape
        plays = []
        for play in PLAYS * 3:
            ttff = play.ttff and int(play.ttff * rng.uniform(0.7, 1.3) * worse)
            stalls = int(play.rebuffer_ms * rng.uniform(0.5, 1.5) * worse)
            plays.append(replace(play, day=day, ttff=ttff, rebuffer_ms=stalls))
        _write(plays)  # one day at a time: a day's plays stay on their day
    password = "qoe-screenshot-" + str(rng.random())
    user = User.objects.create_superuser(
        username=f"qoe_shot_{int(time.time())}", email="qoe@example.com", password=password
    )
    threshold = QoeThreshold.objects.create(
        figure="ttff_p95_ms",
        value=1500,
        window_minutes=60,
        min_reports=10,
        alerting=True,
        alerting_since=timezone.now(),
        last_value=1890,
        last_reports=54,
        last_checked_at=timezone.now(),
    )
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "swipeme_site.asgi:application", "--port", str(port)],
        cwd=ROOT,
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.goto(f"{base}/django-admin/login/?next=/django-admin/analytics/qoethreshold/qoe/")
            page.fill("#id_username", user.username)
            page.fill("#id_password", password)
            page.click("input[type=submit]")
            page.wait_for_selector("#qoe-totals", timeout=120_000)
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out, full_page=True)
            browser.close()
        print(args.out)
    finally:
        server.terminate()
        server.wait(timeout=30)
        threshold.delete()
        user.delete()


if __name__ == "__main__":
    main()
