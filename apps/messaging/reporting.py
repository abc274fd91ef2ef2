"""Reporting messages: a participant points at messages (or at the whole conversation) and
a moderation case opens whose evidence is a copy of those messages and the few around
each, as the reporter saw them. Moderation never reads messaging's tables: the copy is all
staff ever see of the conversation. The reporter may block the senders in the same step.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from apps.accounts.models import User
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.ids import parse_id
from apps.messaging import selectors
from apps.messaging.models import Message, Participant
from apps.moderation import services as moderation_services
from apps.moderation.models import Report
from apps.social import services as social_services

CONTEXT_AROUND = 3  # messages copied before and after each reported one
MAX_REPORTED = 20
LATEST_FOR_CONVERSATION = 5  # a report of the whole conversation: the others' latest


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, fields={"message_ids": [message]})


def _parse_ids(raw: Iterable[object]) -> list[int]:
    ids: list[int] = []
    for value in raw:
        parsed = parse_id(value)
        if parsed is None:
            raise _invalid("Message ids are numbers (as strings).")
        if parsed not in ids:
            ids.append(parsed)
    if len(ids) > MAX_REPORTED:
        raise _invalid(f"Report at most {MAX_REPORTED} messages at a time.")
    return ids


def _reported(me: Participant, ids: list[int]) -> list[Message]:
    seen = (Message.objects.filter(conversation_id=me.conversation_id, seq__isnull=False)
            .filter(selectors.visible_messages_q(me)).exclude(kind=Message.Kind.SYSTEM))
    if not ids:  # the conversation: the latest messages of the others
        found = list(seen.exclude(sender_id=me.user_id)
                     .exclude(state__in=Message.WITHOUT_CONTENT)
                     .order_by("-seq")[:LATEST_FOR_CONVERSATION])
        if not found:
            raise _invalid("There is no message from anyone else here to report.")
        return found
    found = list(seen.filter(pk__in=ids))
    if len(found) != len(ids):
        raise NotFoundError(selectors.MESSAGE_NOT_FOUND,
                            fields={"message_ids": [selectors.MESSAGE_NOT_FOUND]})
    if any(m.state == Message.State.UNSENT for m in found):
        raise _invalid("A message you chose was unsent: there is nothing left of it to "
                       "report.")
    if any(m.state == Message.State.REMOVED for m in found):
        raise _invalid("A message you chose was already removed by our moderators.")
    if any(m.sender_id == me.user_id for m in found):
        raise _invalid("You cannot report your own messages.")
    return found


def _with_context(me: Participant, reported: list[Message]) -> list[Message]:
    """The reported messages and up to CONTEXT_AROUND on each side of each, among what
    the reporter sees, in thread order."""
    seen = (Message.objects.filter(conversation_id=me.conversation_id, seq__isnull=False)
            .filter(selectors.visible_messages_q(me)).exclude(kind=Message.Kind.SYSTEM))
    rows = {m.pk: m for m in reported}
    for message in reported:
        before = seen.filter(seq__lt=message.seq).order_by("-seq")[:CONTEXT_AROUND]
        after = seen.filter(seq__gt=message.seq).order_by("seq")[:CONTEXT_AROUND]
        for row in [*before, *after]:
            rows.setdefault(row.pk, row)
    return sorted(rows.values(), key=lambda m: m.seq or 0)


def _copy(message: Message, *, reported: bool,
          names: dict[int, str]) -> moderation_services.MessageCopy:
    attachment = {name: str(value) for name, value in (
        ("shared_post_id", message.shared_post_id), ("shared_user_id", message.shared_user_id),
        ("asset_id", message.asset_id)) if value is not None}
    return moderation_services.MessageCopy(
        message_id=message.pk, conversation_id=message.conversation_id, seq=message.seq,
        sender_id=message.sender_id, sender_username=names.get(message.sender_id or 0, ""),
        # a removed message in the context is copied as the reporter saw it: a tombstone
        kind=message.kind, body="" if message.state in Message.WITHOUT_CONTENT else message.body,
        sent_at=message.created_at, reported=reported,
        attachment={**attachment, "state": message.state})


def report_messages(reporter: User, conversation_id: int | str, *,
                    message_ids: Iterable[object], policy: str, details: str = "",
                    block: bool = False) -> Report:
    """Report messages of a conversation the reporter is in (none named: the conversation,
    i.e. the others' latest messages). With `block`, the reported senders are blocked too."""
    me = selectors.participant_for(reporter, conversation_id)
    reported = _reported(me, _parse_ids(message_ids))
    copied = _with_context(me, reported)
    sender_ids = {m.sender_id for m in copied if m.sender_id is not None}
    names = dict(User.objects.filter(pk__in=sender_ids).values_list("id", "username"))
    reported_ids = {m.pk for m in reported}
    with transaction.atomic():
        report = moderation_services.message_report_create(
            reporter=reporter, policy=policy, details=details,
            messages=[_copy(m, reported=m.pk in reported_ids, names=names) for m in copied])
        if block:
            for user in User.objects.filter(pk__in={m.sender_id for m in reported}):
                if user.pk != reporter.pk:
                    social_services.block_create(blocker=reporter, blocked=user)
    return report
