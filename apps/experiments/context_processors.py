"""The web pages' flags: `{{ swipeme_flags|json_script:"swipeme-flags" }}` in the base
template, read by static/js/flags.js (no inline script: CSP). Evaluated only when a template
uses it (the template engine calls the callable). The error pages extend the same base
template: with the database down (the 503 page) the page carries no flags rather than
failing again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest

logger = logging.getLogger(__name__)


def flags(request: HttpRequest) -> dict[str, Callable[[], dict[str, Any]]]:
    def evaluated() -> dict[str, Any]:
        from apps.experiments.evaluation import for_request

        try:
            return {"flags": for_request(request).client_values()}
        except DatabaseError:
            logger.warning("experiments: no flags on this page (database unavailable)")
            return {"flags": {}}

    return {"swipeme_flags": evaluated}
