"""The inbox pages of direct messages (issue 15, web client): who may open a conversation
(the one access rule: a non-participant, a removed member and a bad id all get the same
404), the Messages link with its unread total on every page, the Requests tab's count, a
request's accept / delete / block bar instead of the composer."""

from __future__ import annotations

import json
import re

import pytest

from apps.messaging import selectors, services
from apps.messaging.models import Conversation, Participant
from tests.factories import UserFactory
from tests.messaging.helpers import direct, send

pytestmark = pytest.mark.django_db


def _participant(user, conversation: Conversation) -> Participant:  # type: ignore[no-untyped-def]
    return selectors.participant_for(user, conversation.pk)


def test_signed_out_the_pages_ask_to_log_in(browser_for) -> None:  # type: ignore[no-untyped-def]
    response = browser_for(None).get("/messages")
    assert response.status_code == 302
    assert "/login" in response["Location"] or "login" in response["Location"]


def test_the_messages_link_counts_unread_messages_on_every_page(browser_for) -> None:  # type: ignore[no-untyped-def]
    me, friend = UserFactory(), UserFactory()
    conversation = direct(friend, me)
    send(friend, conversation, "one")
    send(friend, conversation, "two")
    html = browser_for(me).get(f"/@{me.username}").content.decode()
    link = re.search(r'<a href="/messages"[^>]*data-messages-link[^>]*>.*?</a>', html, re.S)
    assert link is not None
    assert 'aria-label="Messages, 2 unread"' in link.group(0)
    assert 'data-messages-unread aria-hidden="true">2<' in link.group(0)


def test_no_badge_without_unread_messages(browser_for) -> None:  # type: ignore[no-untyped-def]
    html = browser_for(UserFactory()).get("/messages").content.decode()
    assert 'aria-label="Messages"' in html
    assert "data-messages-unread" not in html


def test_a_participant_opens_the_thread(browser_for) -> None:  # type: ignore[no-untyped-def]
    me, friend = UserFactory(), UserFactory()
    conversation = direct(me, friend)
    send(me, conversation)
    response = browser_for(me).get(f"/messages/{conversation.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'data-conversation="{conversation.pk}"' in html
    assert "data-composer" in html
    assert "data-request=" not in html


@pytest.mark.parametrize("who", ["stranger", "removed", "bad id"])
def test_everyone_else_gets_the_same_404(browser_for, who: str) -> None:  # type: ignore[no-untyped-def]
    admin, member, stranger = UserFactory(), UserFactory(), UserFactory()
    group = services.create_group(admin, [member.pk], "Team")
    send(admin, group, "welcome")
    path = f"/messages/{group.pk}"
    viewer = stranger
    if who == "removed":
        services.remove_member(admin, group.pk, member.pk)
        viewer = member
    elif who == "bad id":
        path = "/messages/not-an-id"
    response = browser_for(viewer).get(path)
    assert response.status_code == 404
    assert "welcome" not in response.content.decode()


def test_a_request_shows_its_bar_instead_of_the_composer(browser_for) -> None:  # type: ignore[no-untyped-def]
    me, stranger = UserFactory(), UserFactory()
    conversation = direct(stranger, me, as_friends=False)
    send(stranger, conversation, "hello there")
    client = browser_for(me)
    listed = client.get("/messages").content.decode()
    assert re.search(r'data-folder-tab="requests">Requests <span class="pill" '
                     r'data-requests-count>1</span>', listed)
    html = client.get(f"/messages/{conversation.pk}").content.decode()
    assert 'data-request="incoming"' in html
    assert re.search(r"<form class=\"dm-composer\" data-composer [^>]* hidden>", html)
    for action in ("accept", "delete", "block"):
        assert f'data-request-action="{action}"' in html
    # the sender's own view has the composer
    theirs = browser_for(stranger).get(f"/messages/{conversation.pk}").content.decode()
    assert 'data-request="incoming"' not in theirs


def _reads(html: str) -> dict[str, int]:
    found = re.search(r'<script id="dm-reads" type="application/json">(.*?)</script>', html)
    assert found is not None
    return dict(json.loads(found.group(1)))


def test_the_thread_starts_with_read_receipts_unless_the_reader_hides_them(browser_for) -> None:  # type: ignore[no-untyped-def]
    me, friend = UserFactory(), UserFactory()
    conversation = direct(me, friend)
    first = send(me, conversation, "did you see it?")
    services.mark_read(_participant(friend, conversation), first.seq or 0)
    html = browser_for(me).get(f"/messages/{conversation.pk}").content.decode()
    assert _reads(html) == {str(friend.pk): first.seq}
    services.update_settings(friend, read_receipts=False)
    html = browser_for(me).get(f"/messages/{conversation.pk}").content.decode()
    assert _reads(html) == {}
