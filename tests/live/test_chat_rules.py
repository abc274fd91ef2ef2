"""The live chat's rules through its API (the socket runs the same services; see
test_chat_ws.py): who may read and write, links, slow mode, followers-only, per-person rate
limits, mutes, bans, moderators, pins, the moderation filters hiding a message before
others see it (its author told in words), likes and the stats they feed."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from apps.accounts.models import User
from apps.live.chat import presence, services
from apps.live.chat.limits import chat_limits
from apps.live.models import LiveBan, LiveChatMessage, LiveStream
from apps.moderation.detection.models import TermList
from apps.moderation.detection.services import policy_rules_seed
from apps.moderation.policies import Policy
from apps.social.models import Follow
from tests.factories import UserFactory
from tests.live.live_helpers import client_for, host, on_air

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rules() -> None:
    policy_rules_seed()
    cache.clear()  # slow mode and rate limit counters of an earlier test


def _say(user: User | None, live: LiveStream, text: str) -> Any:
    return client_for(user).post(f"/api/v1/live/{live.pk}/chat", {"text": text},
                                 format="json")


def _refused(answer: Any, status: int, code: str, words: str) -> None:
    assert answer.status_code == status, answer.content
    error = answer.json()["error"]
    assert error["code"] == code, error
    assert words in error["message"], error["message"]


def _chat(user: User | None, live: LiveStream) -> dict[str, Any]:
    answer = client_for(user).get(f"/api/v1/live/{live.pk}/chat")
    assert answer.status_code == 200, answer.content
    body: dict[str, Any] = answer.json()
    return body


def test_sending_and_the_rules_everyone_but_the_host_follows() -> None:
    creator = host()
    live, _ = on_air(creator)
    viewer, other = UserFactory(), UserFactory()
    sent = _say(viewer, live, "  hello   from the front row ")
    assert sent.status_code == 201, sent.content
    assert sent.json()["hidden"] is False
    assert sent.json()["message"]["text"] == "hello from the front row"
    state = _chat(other, live)
    assert [m["text"] for m in state["messages"]] == ["hello from the front row"]
    assert state["you"] == {"role": "", "muted_until": None, "can_chat": True, "refusal": ""}
    anonymous = _chat(None, live)
    assert anonymous["you"]["can_chat"] is False
    assert anonymous["you"]["refusal"] == "Log in to chat."
    assert _say(None, live, "hi").status_code in (401, 403)
    _refused(_say(viewer, live, ""), 400, "invalid", "")
    _refused(_say(viewer, live, "x" * 201), 400, "invalid", "")

    # links are blocked by default, except for the host
    _refused(_say(viewer, live, "look at example.com/deal"), 403, "links_blocked",
             "Links aren't allowed")
    assert _say(creator, live, "my merch: example.com/shop").status_code == 201
    settings = client_for(creator).patch(f"/api/v1/live/{live.pk}/chat/settings",
                                         {"links_allowed": True}, format="json")
    assert settings.json()["links_allowed"] is True
    assert _say(viewer, live, "look at example.com/deal").status_code == 201

    # followers-only chat: a follow lets them in
    client_for(creator).patch(f"/api/v1/live/{live.pk}/chat/settings",
                              {"followers_only": True}, format="json")
    _refused(_say(other, live, "me too"), 403, "followers_only",
             f"Only followers of @{creator.username}")
    assert _chat(other, live)["you"]["can_chat"] is False
    Follow.objects.create(follower=other, followee=creator)
    assert _say(other, live, "me too").status_code == 201

    # slow mode: one message per 10 s, told how long to wait; the host is exempt
    client_for(creator).patch(f"/api/v1/live/{live.pk}/chat/settings",
                              {"followers_only": False, "slow_mode_seconds": 10},
                              format="json")
    bad = client_for(creator).patch(f"/api/v1/live/{live.pk}/chat/settings",
                                    {"slow_mode_seconds": 7}, format="json")
    assert bad.status_code == 400
    assert "slow_mode_seconds" in bad.json()["error"]["fields"]
    fresh = UserFactory()
    assert _say(fresh, live, "first").status_code == 201
    _refused(_say(fresh, live, "second"), 429, "slow_mode", "Slow mode is on")
    assert _say(creator, live, "one").status_code == 201
    assert _say(creator, live, "two").status_code == 201


def test_the_per_person_rate_limit_counts_every_send() -> None:
    live, _ = on_air(host())
    chatty = UserFactory()
    burst = chat_limits().rate_limits[0][0]
    for i in range(burst):
        assert _say(chatty, live, f"message {i}").status_code == 201
    _refused(_say(chatty, live, "one more"), 429, "rate_limited", "too fast")
    assert LiveChatMessage.objects.filter(author=chatty).count() == burst
    assert _say(UserFactory(), live, "someone else").status_code == 201  # per person


def test_term_lists_and_the_classifier_hide_a_message_before_anyone_else_sees_it() -> None:
    TermList.objects.create(name="slurs", policy=Policy.HATE_HARASSMENT, terms="scumbag",
                            outcome="block")
    live, _ = on_air(host())
    author, reader = UserFactory(), UserFactory()
    filtered = _say(author, live, "host you absolute s.c.u.m.b.a.g")
    assert filtered.status_code == 201
    assert filtered.json()["hidden"] is True
    assert "words this chat doesn't allow" in filtered.json()["notice"]
    abusive = _say(author, live, "you are ugly and stupid")
    assert abusive.json()["hidden"] is True
    assert "looks abusive" in abusive.json()["notice"]
    assert _say(author, live, "great stream tonight").json()["hidden"] is False
    hidden = dict(LiveChatMessage.objects.filter(live=live).values_list("text", "hidden"))
    assert hidden == {"host you absolute s.c.u.m.b.a.g": LiveChatMessage.Hidden.FILTERED,
                      "you are ugly and stupid": LiveChatMessage.Hidden.CLASSIFIER,
                      "great stream tonight": ""}
    assert [m["text"] for m in _chat(reader, live)["messages"]] == ["great stream tonight"]
    mine = _chat(author, live)["messages"]
    assert [(m["text"], m["hidden"]) for m in mine] == [
        ("host you absolute s.c.u.m.b.a.g", True), ("you are ugly and stupid", True),
        ("great stream tonight", False)]


def test_moderators_delete_mute_and_ban_and_the_host_outranks_them() -> None:
    creator = host()
    live, _ = on_air(creator)
    mod, second_mod, troll, bystander = (UserFactory() for _ in range(4))
    for person in (mod, second_mod):
        added = client_for(creator).post("/api/v1/live/chat/moderators",
                                         {"username": person.username}, format="json")
        assert added.status_code == 201, added.content
    listed = client_for(creator).get("/api/v1/live/chat/moderators").json()
    assert {m["username"] for m in listed} == {mod.username, second_mod.username}
    missing = client_for(creator).post("/api/v1/live/chat/moderators",
                                       {"username": "nobody-here"}, format="json")
    _refused(missing, 404, "user_not_found", "No account")

    rude = _say(troll, live, "boring stream").json()["message"]
    _refused(client_for(bystander).delete(f"/api/v1/live/{live.pk}/chat/{rude['id']}"),
             403, "not_moderator", "Only the host and their moderators")
    assert client_for(mod).delete(
        f"/api/v1/live/{live.pk}/chat/{rude['id']}").status_code == 204
    assert _chat(bystander, live)["messages"] == []
    assert LiveChatMessage.objects.get(pk=rude["id"]).hidden_by == mod

    # mutes: 5 or 30 minutes, in words; never the host; a moderator only by the host
    bad = client_for(mod).post(f"/api/v1/live/{live.pk}/mutes",
                               {"user_id": str(troll.pk), "minutes": 10}, format="json")
    assert bad.status_code == 400
    muted = client_for(mod).post(f"/api/v1/live/{live.pk}/mutes",
                                 {"user_id": str(troll.pk), "minutes": 30}, format="json")
    assert muted.status_code == 201, muted.content
    _refused(_say(troll, live, "hey"), 403, "muted", "You're muted in this chat for 30 more "
             "minutes")
    assert _chat(troll, live)["you"]["can_chat"] is False
    _refused(client_for(mod).post(f"/api/v1/live/{live.pk}/mutes",
                                  {"user_id": str(creator.pk), "minutes": 5}, format="json"),
             403, "is_host", "You can't mute the host")
    _refused(client_for(mod).post(f"/api/v1/live/{live.pk}/mutes",
                                  {"user_id": str(second_mod.pk), "minutes": 5},
                                  format="json"),
             403, "is_moderator", "Only the host can mute a moderator")
    assert client_for(creator).delete(
        f"/api/v1/live/{live.pk}/mutes/{troll.pk}").status_code == 204
    assert _say(troll, live, "sorry").status_code == 201

    # a ban: the live is gone for them (404), their messages hidden; unban restores
    banned = client_for(mod).post(f"/api/v1/live/{live.pk}/bans", {"user_id": str(troll.pk)},
                                  format="json")
    assert banned.status_code == 201
    assert LiveBan.objects.filter(host=creator, user=troll).exists()
    assert client_for(troll).get(f"/api/v1/live/{live.pk}/chat").status_code == 404
    assert _say(troll, live, "let me back").status_code == 404
    assert "sorry" not in [m["text"] for m in _chat(bystander, live)["messages"]]
    assert client_for(creator).delete(
        f"/api/v1/live/{live.pk}/bans/{troll.pk}").status_code == 204
    assert client_for(troll).get(f"/api/v1/live/{live.pk}/chat").status_code == 200
    # a removed moderator is a viewer again
    assert client_for(creator).delete(
        f"/api/v1/live/chat/moderators/{mod.pk}").status_code == 204
    _refused(client_for(mod).post(f"/api/v1/live/{live.pk}/bans", {"user_id": str(troll.pk)},
                                  format="json"),
             403, "not_moderator", "Only the host and their moderators")


def test_pins_follow_the_message_and_the_live_is_the_one_visibility_rule() -> None:
    creator = host()
    live, _ = on_air(creator, audience=LiveStream.Audience.FOLLOWERS)
    follower, stranger = UserFactory(), UserFactory()
    Follow.objects.create(follower=follower, followee=creator)
    # a followers-only live: a stranger reads, sends and likes nothing (the same 404)
    assert client_for(stranger).get(f"/api/v1/live/{live.pk}/chat").status_code == 404
    assert _say(stranger, live, "hi").status_code == 404
    assert client_for(stranger).post(f"/api/v1/live/{live.pk}/likes", {"count": 3},
                                     format="json").status_code == 404
    message = _say(follower, live, "what song is this?").json()["message"]
    _refused(client_for(follower).put(f"/api/v1/live/{live.pk}/pin",
                                      {"message_id": message["id"]}, format="json"),
             403, "not_moderator", "Only the host")
    pinned = client_for(creator).put(f"/api/v1/live/{live.pk}/pin",
                                     {"message_id": message["id"]}, format="json")
    assert pinned.status_code == 200
    assert _chat(follower, live)["pinned"]["text"] == "what song is this?"
    # the author deletes their own message: the pin goes with it
    assert client_for(follower).delete(
        f"/api/v1/live/{live.pk}/chat/{message['id']}").status_code == 204
    assert _chat(follower, live)["pinned"] is None
    _refused(client_for(creator).put(f"/api/v1/live/{live.pk}/pin",
                                     {"message_id": message["id"]}, format="json"),
             409, "message_hidden", "hidden")
    # likes: counted in Redis, written on the live by the stats
    liked = client_for(follower).post(f"/api/v1/live/{live.pk}/likes", {"count": 7},
                                      format="json")
    assert liked.json() == {"counted": 7}
    assert presence.counters(live.pk)["likes"] == 7
    services.stats_record(live.pk)
    live.refresh_from_db()
    assert live.likes == 7
    # after the end: the chat is closed, in words
    LiveStream.objects.filter(pk=live.pk).update(state=LiveStream.State.ENDED)
    _refused(_say(creator, live, "thanks all"), 409, "live_ended", "has ended")
