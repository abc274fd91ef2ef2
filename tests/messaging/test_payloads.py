"""`message_payloads` (the one message shape): cards that respect the reader's view of a
post at read time, tombstones, reactions with `mine`, and a constant number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.content.models import Post
from apps.messaging import selectors, services
from apps.messaging.api.serializers import (
    conversation_payloads,
    inbox_payloads,
    message_payloads,
)
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.messaging.helpers import direct, friends, send

pytestmark = pytest.mark.django_db


def test_a_shared_post_card_follows_the_readers_view_at_read_time() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    post = PublishedPostFactory(author=a)
    message = send(a, conversation, "", kind="post", shared_post_id=post.pk)
    [card] = message_payloads(b, [message])
    assert card["shared_post"]["id"] == str(post.pk)
    assert card["shared_post"]["unavailable"] is False
    Post.objects.filter(pk=post.pk).update(visibility=Post.Visibility.PRIVATE)
    [card] = message_payloads(b, [message])
    assert card["shared_post"] == {"unavailable": True}


def test_tombstones_reactions_and_constant_queries() -> None:
    a, b = UserFactory(), UserFactory()
    conversation = direct(a, b)
    messages = [send(a if i % 2 else b, conversation, f"m{i}") for i in range(12)]
    services.react(b, conversation.pk, messages[0].pk, emoji="👍")
    services.react(a, conversation.pk, messages[0].pk, emoji="👍")
    services.react(b, conversation.pk, messages[-1].pk, emoji="🔥")  # on the small page too
    services.unsend_message(a, conversation.pk, messages[1].pk)
    me = selectors.participant_for(b, conversation.pk)
    counts = []
    for size in (2, 12):
        page = selectors.messages_for(me, limit=size)
        with CaptureQueriesContext(connection) as queries:
            payloads = message_payloads(b, page)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    by_id = {p["id"]: p for p in payloads}
    assert by_id[str(messages[0].pk)]["reactions"] == [{"emoji": "👍", "count": 2,
                                                        "mine": True}]
    unsent = by_id[str(messages[1].pk)]
    assert unsent["unsent"] is True
    assert unsent["body"] == ""


def test_inbox_rows_in_constant_queries() -> None:
    me = UserFactory()
    for i in range(6):
        other = UserFactory()
        send(other, direct(other, me), f"x{i}")
    counts = []
    for size in (1, 6):
        rows = list(selectors.inbox_for(me)[:size])
        with CaptureQueriesContext(connection) as queries:
            payloads = conversation_payloads(me, rows)
        counts.append(len(queries))
    assert counts == [1, 1]
    assert len(payloads) == 6


def test_an_inbox_page_is_one_statement_with_titles_members_and_previews() -> None:
    """The page's selection, each row's latest message it may see and its first members are
    one statement; the title names the first four others, `members` the first eight."""
    from tests.social.factories import BlockFactory

    me = UserFactory(username="me")
    people = [UserFactory(username=f"p{i}", display_name="" if i == 1 else f"P {i}")
              for i in range(10)]
    for other in people:
        friends(me, other)
    group = services.create_group(people[0], [me.pk] + [p.pk for p in people[1:]], "")
    send(people[2], group, "  see\n\n you   later ")
    BlockFactory(blocker=me, blocked=people[3])
    send(people[3], group, "not for me")
    one = direct(people[4], me, as_friends=False)
    gone = send(people[4], one, "oops")
    services.unsend_message(people[4], one.pk, gone.pk)
    counts = []
    for size in (1, 2):
        with CaptureQueriesContext(connection) as queries:
            rows, _ = selectors.inbox_page(me, folder="inbox", cursor=None, limit=size)
            payloads = inbox_payloads(me, rows)
        counts.append(len(queries))
    assert counts == [1, 1]
    by_id = {p["id"]: p for p in payloads}
    row = by_id[str(group.pk)]
    assert row["title"] == "P 0, p1, P 2, P 3"
    assert [m["username"] for m in row["members"]] == ["p0", "me", *[f"p{i}" for i in
                                                                     range(1, 7)]]
    assert row["members"][0]["role"] == "admin"
    assert row["member_count"] == 11
    assert row["last_message"]["body"] == "see you later"
    assert row["last_message"]["sender"] == str(people[2].pk)
    unsent = by_id[str(one.pk)]["last_message"]
    assert (unsent["body"], unsent["unsent"], unsent["id"]) == ("", True, str(gone.pk))


def test_system_messages_name_the_people_they_are_about() -> None:
    admin, member = UserFactory(), UserFactory(username="newcomer")
    friends(admin, member)
    group = services.create_group(admin, [member.pk], "g")
    me = selectors.participant_for(admin, group.pk)
    [created] = message_payloads(admin, selectors.messages_for(me))
    assert created["system"]["event"] == "created"
    assert created["sender"]["id"] == str(admin.pk)
    assert [c["username"] for c in created["system"]["user_cards"]] == ["newcomer"]


def test_mentions_resolve_members_case_insensitively_and_blocked_replies_show_no_text(
        ) -> None:
    from tests.social.factories import BlockFactory

    admin, maya, leo = UserFactory(), UserFactory(username="Maya"), UserFactory()
    friends(admin, maya)
    friends(admin, leo)
    group = services.create_group(admin, [maya.pk, leo.pk], "g")
    said = send(leo, group, "secret plans")
    reply = send(admin, group, "@maya and @nobody, see above", reply_to_id=said.pk)
    assert reply.mentions == [str(maya.pk)]
    BlockFactory(blocker=maya, blocked=leo)
    [for_maya] = message_payloads(maya, [reply])
    assert for_maya["reply_to"]["body_preview"] == ""
    [for_admin] = message_payloads(admin, [reply])
    assert for_admin["reply_to"]["body_preview"] == "secret plans"
