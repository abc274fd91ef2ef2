"""The audit trail as staff meet it: a reason typed next to an admin action (a sound
take-down) ends up, with who did it, in the one audit list; phone and desktop."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from apps.core.models import AuditEvent
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.content.factories import LibrarySoundFactory
from tests.factories import UserFactory


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_reason_typed_next_to_an_action_is_in_the_audit_list(
        size: str, logged_in_page: Callable[..., Page]):
    viewport = PHONE if size == "phone" else DESKTOP
    staff = UserFactory(is_staff=True, is_superuser=True, username=f"ops-{size}")
    sound = LibrarySoundFactory(title=f"Night drive {size}")
    page = logged_in_page(staff, viewport=viewport)

    page.goto("/django-admin/content/sound/")
    page.check(f"input[name='_selected_action'][value='{sound.pk}']")
    page.select_option("select[name='action']", "take_down")
    reason = page.locator("input[name='reason']")
    assert reason.is_visible()
    box = reason.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= viewport["width"]
    reason.fill(f"DMCA notice {size}")
    screenshot(page, f"audit-action-reason-{size}")
    page.click("button[name='index']")
    page.wait_for_selector(".messagelist")

    row = AuditEvent.objects.get(target_id=sound.pk)
    assert (row.actor_id, row.action_name, row.reason) == (
        staff.pk, "content.sound_take_down", f"DMCA notice {size}")

    page.goto(f"/django-admin/core/auditevent/?q={sound.pk}")
    listing = page.locator("#result_list")
    for text in ("content.sound_take_down", f"ops-{size}", f"Night drive {size}"):
        assert text in listing.inner_text()
    screenshot(page, f"audit-list-{size}", full_page=True)
    if size == "desktop":
        # the reason is on screen beside the filters, not scrolled off the table's edge
        cell = page.locator("#result_list td.field-reason").first
        assert cell.inner_text() == f"DMCA notice {size}"
        box, table = cell.bounding_box(), page.locator("#changelist .results").bounding_box()
        assert box is not None
        assert table is not None
        assert box["x"] + box["width"] <= table["x"] + table["width"]
