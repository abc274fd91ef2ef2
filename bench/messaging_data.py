"""The messaging benchmark's data (bench/messaging.py): the seeded members, groups and
inbox owner in the benchmark's own database, their sessions, and what was stored.
Django must be set up first (messaging.django_setup)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

PREFIX = "bench_dm_"
OWNER = "bench_dm_owner"


def seed(members: int, group_size: int, inbox: int, history: int = 3) -> dict[str, Any]:
    """`members` people in conversations of `group_size`, and the inbox owner with `inbox`
    one-to-one conversations of `history` messages each (with members, then with extra
    people when there are fewer members). Everything through bulk_create."""
    from datetime import date, timedelta

    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.accounts.models import User
    from apps.accounts.usernames import skeleton
    from apps.core.ids import allocate_ids
    from apps.messaging.models import Conversation, Message, Participant

    started = time.monotonic()
    if User.objects.filter(username=OWNER).exists():
        return {"seeded": False}
    now = timezone.now()
    people = max(members, inbox)
    password = make_password(None)
    with transaction.atomic():
        names = [OWNER] + [f"{PREFIX}{i}" for i in range(people)]
        users = [User(pk=pk, username=name, username_skeleton=skeleton(name),
                      email=f"{name}@bench.invalid", password=password,
                      date_of_birth=date(1990, 1, 1), display_name=name)
                 for pk, name in zip(allocate_ids(len(names)), names, strict=True)]
        User.objects.bulk_create(users, batch_size=2000)
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users],
            batch_size=2000)
        owner, others = users[0], users[1:]
        groups = members // group_size
        conversations = [
            Conversation(pk=pk, kind=Conversation.Kind.GROUP, name=f"bench group {g}",
                         created_by=others[g * group_size])
            for g, pk in enumerate(allocate_ids(groups))]
        directs = [
            Conversation(pk=pk, kind=Conversation.Kind.DIRECT, created_by=owner,
                         direct_key=":".join(map(str, sorted((owner.pk, others[i].pk)))),
                         last_seq=history, last_message_at=now - timedelta(minutes=i))
            for i, pk in enumerate(allocate_ids(inbox))]
        Conversation.objects.bulk_create(conversations + directs, batch_size=2000)
        rows = [Participant(conversation=c, user=others[g * group_size + k],
                            role=Participant.Role.ADMIN if k == 0 else Participant.Role.MEMBER,
                            accepted_at=now, last_activity_at=now)
                for g, c in enumerate(conversations) for k in range(group_size)]
        for i, c in enumerate(directs):
            at = now - timedelta(minutes=i)
            rows += [Participant(conversation=c, user=owner, accepted_at=now,
                                 last_read_seq=history - 1, unread_count=1,
                                 last_activity_at=at),
                     Participant(conversation=c, user=others[i], accepted_at=now,
                                 last_read_seq=history, last_activity_at=at)]
        for row, pk in zip(rows, allocate_ids(len(rows)), strict=True):
            row.pk = pk
        Participant.objects.bulk_create(rows, batch_size=2000)
        messages = [Message(conversation=c, sender=owner if s % 2 else others[i],
                            client_id=f"seed-{c.pk}-{s}", body=f"message {s} of {i}",
                            seq=s, change_seq=s)
                    for i, c in enumerate(directs) for s in range(1, history + 1)]
        for message, pk in zip(messages, allocate_ids(len(messages)), strict=True):
            message.pk = pk
        Message.objects.bulk_create(messages, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"seeded": True, "users": len(users), "groups": groups, "inbox": inbox,
            "seconds": round(time.monotonic() - started, 1)}


def reset_groups() -> None:
    """The group conversations as seeded: no messages, seqs from 0 (each run the same)."""
    from django.db import connection

    from apps.messaging.models import Conversation, Message, Participant

    groups = Conversation.objects.filter(kind=Conversation.Kind.GROUP, name__startswith="bench")
    with connection.cursor() as cursor:
        ids = list(groups.values_list("pk", flat=True))
        for table in ("messaging_reaction", "messaging_hiddenmessage"):
            cursor.execute(f"DELETE FROM {table} WHERE message_id IN (SELECT id FROM "
                           "messaging_message WHERE conversation_id = ANY(%s))", [ids])
        Message.objects.filter(conversation_id__in=ids).delete()
    groups.update(last_seq=0, last_message_at=None)
    Participant.objects.filter(conversation_id__in=ids).update(
        last_read_seq=0, unread_count=0)


@dataclass
class Member:
    uid: int
    token: str
    conversation: int


def members_with_sessions(limit: int) -> list[Member]:
    """Every seeded group member (conversation by conversation), an app session each (the
    X-Session-Token a mobile client sends)."""
    from datetime import timedelta

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from apps.messaging.models import Participant

    rows = list(Participant.objects.filter(
        conversation__kind="group", conversation__name__startswith="bench",
        state=Participant.State.ACTIVE).select_related("user")
        .order_by("conversation_id", "pk")[:limit])
    store = SessionStore()
    expires = timezone.now() + timedelta(hours=6)
    sessions = [Session(session_key=get_random_string(32), expire_date=expires,
                        session_data=store.encode({
                            SESSION_KEY: str(p.user_id),
                            BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                            HASH_SESSION_KEY: p.user.get_session_auth_hash()}))
                for p in rows]
    Session.objects.bulk_create(sessions, batch_size=2000)
    return [Member(p.user_id, s.session_key, p.conversation_id)
            for p, s in zip(rows, sessions, strict=True)]


def owner_cookie() -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.models import User

    owner = User.objects.get(username=OWNER)
    session = SessionStore()
    session[SESSION_KEY] = str(owner.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = owner.get_session_auth_hash()
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def stored_rows(conversation_ids: list[int], client_ids: set[str]) -> dict[str, int]:
    """How many rows the database holds for each client id the clients sent."""
    from django.db.models import Count

    from apps.messaging.models import Message

    counts = (Message.objects.filter(conversation_id__in=conversation_ids,
                                     client_id__in=list(client_ids))
              .values("client_id").annotate(n=Count("id")))
    return {row["client_id"]: row["n"] for row in counts}
