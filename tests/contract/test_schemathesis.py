"""The served OpenAPI schema is a contract: schemathesis generates requests for every
operation in it (valid and invalid ones) and calls the app in-process (WSGI), signed in as
a real user whose posts, comments, collections, follow requests, sessions and devices
exist, so that operations taking an id sometimes hit a real object; one case in five is
signed out. Any 5xx, or any response whose status code, content type or body the schema
does not document, fails.

Operations that end or change the caller's account or session run as a fresh user for
each case (see FRESH_USER), so they cannot sign the shared user out for the rest of the run.
No operation is skipped; only values of two overlapping path templates that address the
other template are not used (see ROUTED_ELSEWHERE).

Like every `db` test this runs inside a transaction: a lock taken outside `atomic()` does
not fail here; the live-server and `transaction=True` tests are there for that."""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.db import transaction
from hypothesis import HealthCheck, Phase, assume, settings

from tests.contract.helpers import reauthenticate, served_schema, sign_in
from tests.factories import UserFactory

# Examples per operation and generation mode (valid, invalid): about 4,400 requests over
# 135 operations; 2.5 to 3 minutes on this project's 2-core machine when it is not shared.
MAX_EXAMPLES = 10

# Operations that would sign out, deactivate, schedule the deletion of or otherwise take
# over the shared user (or change the e-mail, password or username that the other
# operations rely on): each case of these runs as a user of its own.
FRESH_USER = {
    ("DELETE", "/api/v1/me/sessions/{session_id}"),
    ("POST", "/api/v1/me/sessions/revoke-all"),
    ("POST", "/api/v1/me/deactivate"),
    ("POST", "/api/v1/me/delete"),
    ("POST", "/api/v1/me/delete/cancel"),
    ("POST", "/api/v1/me/username"),
    ("DELETE", "/_allauth/app/v1/auth/session"),
    ("DELETE", "/_allauth/app/v1/auth/sessions"),
    ("POST", "/_allauth/app/v1/account/password/change"),
    ("POST", "/_allauth/app/v1/account/email"),
    ("PUT", "/_allauth/app/v1/account/email"),
    ("PATCH", "/_allauth/app/v1/account/email"),
    ("DELETE", "/_allauth/app/v1/account/email"),
    ("POST", "/_allauth/app/v1/account/authenticators/totp"),
    ("DELETE", "/_allauth/app/v1/account/authenticators/totp"),
    ("POST", "/_allauth/app/v1/account/authenticators/recovery-codes"),
    ("POST", "/_allauth/app/v1/tokens/refresh"),
}

# Two path templates overlap: /api/v1/media/uploads/{asset_id} (digits, Django's <int:>)
# and /api/v1/media/uploads/{token} (a tus upload URL's signed token, never all digits).
# A generated value of one that has the other's shape is a request to the other operation,
# answered as the schema documents *that* one; such values are not used (hypothesis
# `assume`) for these two templates. All other values of them are sent.
ROUTED_ELSEWHERE = {
    ("/api/v1/media/uploads/{asset_id}", "asset_id"): lambda v: not str(v).isdigit(),
    ("/api/v1/media/uploads/{token}", "token"): lambda v: str(v).isdigit(),
}

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]


@dataclass
class World:
    """The signed-in user and the ids of real objects, by path parameter name."""

    token: str
    ids: dict[str, list[str]] = field(default_factory=dict)


def _arrange() -> World:
    from allauth.usersessions.models import UserSession

    from apps.accounts.models import DataExport, Device
    from apps.comments.services import comment_create, comment_filter_create
    from apps.content.models import Hashtag, Post, PostHashtag, Sound
    from apps.engagement.services import collection_create, favourite_create, like_create
    from apps.social.models import FollowRequest
    from apps.social.services import follow_create
    from tests.engagement.factories import PublishedPostFactory

    me = UserFactory(username="contract_me")
    other = UserFactory(username="contract_other")
    fan = UserFactory(username="contract_fan")
    mine = PublishedPostFactory(author=me, caption="mine #contract")
    theirs = PublishedPostFactory(author=other, caption="theirs #contract")
    follow_create(follower=me, followee=other)
    follow_create(follower=fan, followee=me)
    request = FollowRequest.objects.create(requester=other, target=me)
    comment = comment_create(author=other, post=mine, text="nice one")
    reply = comment_create(author=me, post=mine, text="thanks", parent=comment)
    on_theirs = comment_create(author=me, post=theirs, text="great")
    like_create(user=me, post=theirs)
    collection = collection_create(owner=me, name="keepers")
    favourite_create(user=me, post=theirs, collection_id=collection.pk)
    keyword = comment_filter_create(creator=me, keyword="spoiler")
    export = DataExport.objects.create(user=me)
    tag = Hashtag.objects.create(name="contract", posts_count=2)
    PostHashtag.objects.bulk_create([PostHashtag(post=mine, hashtag=tag),
                                     PostHashtag(post=theirs, hashtag=tag)])
    sound = Sound.objects.create(kind=Sound.Kind.ORIGINAL, title="mine", original_owner=me,
                                 source_asset=mine.asset)
    Post.objects.filter(pk=mine.pk).update(sound=sound)
    from apps.messaging import services as messaging

    chat = messaging.start_direct(me, other)
    said, _ = messaging.send_message(me, chat.pk, client_id="contract-1", kind="text",
                                     body="hello @contract_other")
    group = messaging.create_group(me, [other.pk, fan.pk], "contract")
    token = sign_in(me.username)
    reauthenticate(token)  # within the 5-minute window for most of the run
    world = World(token=token)
    world.ids = {
        "post_id": [str(mine.pk), str(theirs.pk)],
        "comment_id": [str(comment.pk), str(reply.pk), str(on_theirs.pk)],
        "collection_id": [str(collection.pk)],
        "filter_id": [str(keyword.pk)],
        "request_id": [str(request.pk)],
        "username": [me.username, other.username, fan.username],
        "export_id": [str(export.pk)],
        "asset_id": [str(mine.asset_id), str(theirs.asset_id)],
        "sound_id": [str(sound.pk)],
        "name": ["contract"],
        "conversation_id": [str(chat.pk), str(group.pk)],
        "message_id": [str(said.pk)],
        "user_id": [str(other.pk), str(fan.pk)],
        "device_id": [str(pk) for pk in Device.objects.filter(user=me).values_list("pk",
                                                                                   flat=True)],
        "session_id": [str(pk) for pk in UserSession.objects.filter(user=me).values_list(
            "pk", flat=True)],
    }
    return world


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Arranged once for the module inside a transaction that is rolled back at its end;
    each operation's test runs in a savepoint inside it (pytest-django's `db`), so every
    operation starts from the same objects, whatever the one before it did."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield _arrange()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# tus PATCH bodies are raw bytes, sent as such.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

# The schema as served, fetched through the app at collection time (it needs no database).
schema = served_schema()


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.generate])
def test_every_operation_answers_as_documented(case: Any, world: World, db: None) -> None:
    token, ids = world.token, world.ids
    if (case.method.upper(), case.operation.path) in FRESH_USER:
        from allauth.usersessions.models import UserSession

        fresh = UserFactory()
        token = sign_in(fresh.username)
        reauthenticate(token)
        ids = {"session_id": [str(pk) for pk in UserSession.objects.filter(
            user=fresh).values_list("pk", flat=True)]}
    for name, value in (case.path_parameters or {}).items():
        elsewhere = ROUTED_ELSEWHERE.get((case.operation.path, name))
        assume(elsewhere is None or not elsewhere(value))
    # Choices drawn from the case itself: hypothesis seeds the global `random` the same way
    # for every example, so random.random() would choose the same each time.
    rng = random.Random(zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode()))
    for name in list(case.path_parameters or {}):
        # Half of the cases aim at real objects instead of random ids.
        if ids.get(name) and rng.random() < 0.5:
            case.path_parameters[name] = rng.choice(ids[name])
    # One case in five is signed out: public operations answer anonymous callers, the
    # others a documented 401.
    headers = {} if rng.random() < 0.2 else {"X-Session-Token": token}
    case.call_and_validate(headers=headers, checks=CHECKS)
