"""One rule in one place: search and the web client's @mention suggestions use social's
block rule (`apps.social.selectors.blocked_either_way`) instead of a query of their own, and
search has one "who is the viewer" helper (`apps.search.selectors.viewer_id_of`)."""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

APPS = Path(settings.BASE_DIR) / "apps"


def _sources() -> dict[str, str]:
    paths = [*(APPS / "search").rglob("*.py"), APPS / "web" / "views_suggest.py"]
    return {str(path.relative_to(APPS)): path.read_text() for path in paths
            if "migrations" not in path.parts}


def test_search_and_suggestions_build_no_block_query_of_their_own() -> None:
    copies = [name for name, text in _sources().items() if "Block.objects" in text]
    assert copies == [], f"use apps.social.selectors.blocked_either_way in {copies}"


def test_search_has_one_viewer_id_helper() -> None:
    helpers = [(name, found) for name, text in _sources().items()
               for found in re.findall(r"^def (\w*viewer_id\w*)\(", text, re.MULTILINE)]
    assert helpers == [("search/selectors.py", "viewer_id_of")]
