"""What the direct-message browser tests share (test_messages_*.py): service calls made
in a thread of their own (their after-commit announcement uses async_to_sync, which
refuses the thread where Playwright's loop runs), friends, opening a thread and finding
a message and its menu."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import TestCase
from playwright.sync_api import Page, expect

from apps.accounts.models import User
from apps.messaging import services
from apps.messaging.models import Conversation, Message
from tests.social.factories import FollowFactory

SHOTS = Path("/tmp/shots-h4")


@pytest.fixture(autouse=True)
def slow_expect() -> Iterator[None]:
    """A shared 2-core machine: live updates may take longer than expect's 5 s default."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def in_thread(work: Callable[[], Any]) -> Any:
    """Run a service call (and its after-commit callbacks) in a thread of its own."""
    out: list[Any] = []

    def run() -> None:
        try:
            with TestCase.captureOnCommitCallbacks(execute=True):
                out.append(work())
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(60)
    assert out, "the service call failed (see the log)"
    return out[0]


def send(sender: User, conversation: Conversation, body: str = "", **kwargs: Any) -> Message:
    """One message through the service (call it inside `in_thread`)."""
    kwargs.setdefault("kind", Message.Kind.TEXT)
    message, _ = services.send_message(sender, conversation.pk, body=body,
                                       client_id=str(uuid.uuid4()), **kwargs)
    return message


def friends(a: User, b: User) -> None:
    FollowFactory(follower=a, followee=b)
    FollowFactory(follower=b, followee=a)


def open_thread(page: Page, conversation: Conversation) -> None:
    """Open the thread and wait until it is drawn and its socket is open."""
    page.goto(f"/messages/{conversation.pk}")
    expect(page.locator("[data-thread]")).to_have_attribute("data-ready", "1")
    page.wait_for_function("() => document.querySelector('[data-dm]').dataset.socket === 'open'")


def bubble(page: Page, text: str) -> Any:
    """The message whose own text holds `text` (not one quoting it in a reply)."""
    return page.locator(".dm-msg").filter(has=page.locator(".dm-text", has_text=text))


def message_menu(page: Page, text: str) -> Any:
    """Open the menu of the message with `text`; the menu (a bottom sheet)."""
    bubble(page, text).get_by_role("button", name=re.compile("^Message options")).click()
    menu = page.locator("[data-message-menu]")
    expect(menu).to_be_visible()
    return menu
