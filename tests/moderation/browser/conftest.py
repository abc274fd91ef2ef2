"""The browser fixtures of tests/browser (headless Chromium against the real ASGI server and
worker, committed rows per module), reused for the moderators' pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import (  # noqa: F401 - fixtures
    base_url,
    browser_db,
    logged_in_page,
    new_context,
    page_errors,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)
