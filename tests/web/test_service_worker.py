"""/sw.js: the push worker and the feed's caches in one script, versioned by its parts and
the feed's built files (issue 22), so a deploy installs a new worker that drops old caches."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.test import RequestFactory

from apps.web import service_worker

VERSION = re.compile(rb'^const SWIPEME_SW_VERSION = "([0-9a-f]{16})";\n')


def _version() -> bytes:
    service_worker.script.cache_clear()
    match = VERSION.match(service_worker.script())
    assert match is not None
    return match.group(1)


def test_one_script_with_push_and_the_feed_cache_and_a_version_that_follows_the_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = service_worker.service_worker(RequestFactory().get("/sw.js"))
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    body = response.content
    assert VERSION.match(body)
    assert b'addEventListener("push"' in body  # static/sw.js
    assert b"swipeme-media-" in body  # static/sw_feed.js

    # a copy of the files it is made of: a changed feed bundle is a new version
    static = tmp_path / "static"
    for name in (*service_worker.PARTS, *service_worker.SHELL_FILES):
        source = settings.BASE_DIR / "static" / name
        if source.is_file():
            (static / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, static / name)
    (static / "dist").mkdir(exist_ok=True)
    (static / "dist" / "feed.js").write_text("// the feed, before the deploy\n")
    monkeypatch.setattr(settings, "BASE_DIR", tmp_path)
    before = _version()
    assert _version() == before  # stable while nothing changes
    (static / "dist" / "feed.js").write_text("// the feed, after the deploy\n")
    assert _version() != before
    service_worker.script.cache_clear()
