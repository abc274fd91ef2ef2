"""Messages: send (idempotent by the client's id), deliver or refuse one that waited for
its media checks, edit, unsend, delete for me, react. Every change to what others see
takes a fresh seq under the conversation's row lock and is announced after commit."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import partial

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Post
from apps.content.selectors import POST_NOT_FOUND, visible_posts_for
from apps.core.errors import ApplicationError, ForbiddenError, NotFoundError
from apps.core.ids import parse_id
from apps.media.models import MediaAsset
from apps.messaging import live, media_checks, offline, policy, selectors
from apps.messaging.models import Conversation, HiddenMessage, Message, Participant, Reaction
from apps.messaging.services._common import (
    BODY_MAX,
    CLIENT_ID_MAX,
    EDIT_WINDOW_MINUTES,
    EMOJI_MAX,
    active_user_ids,
    announce_inbox,
    announce_message,
    lock_conversation,
    next_seq,
)
from apps.social.selectors import USER_NOT_FOUND, blocked_user_ids, discoverable_q

SENDABLE_KINDS = (Message.Kind.TEXT, Message.Kind.POST, Message.Kind.PROFILE,
                  Message.Kind.MEDIA)
_MENTION = re.compile(r"(?<![\w@])@([\w.]{1,150})")
ASSET_NOT_FOUND = "Upload not found."


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(f"{field}: {message}", fields={field: [message]})


def _clean_body(body: object, *, required: bool) -> str:
    if not isinstance(body, str):
        raise _invalid("body", "Must be text.")
    if "\x00" in body:
        raise _invalid("body", "Contains a character that is not allowed.")
    if len(body) > BODY_MAX:
        raise _invalid("body", f"At most {BODY_MAX} characters.")
    if required and not body.strip():
        raise _invalid("body", "Write something.")
    return body


def _clean_client_id(client_id: object) -> str:
    if (not isinstance(client_id, str) or not client_id.strip()
            or len(client_id) > CLIENT_ID_MAX or not client_id.isprintable()):
        raise _invalid("client_id", f"A non-empty id of at most {CLIENT_ID_MAX} printable "
                       "characters (a UUID).")
    return client_id


def _mentions(conversation_id: int, body: str) -> list[str]:
    """Ids of the active members whose @username the text names (one query)."""
    names = {name.lower().rstrip(".") for name in _MENTION.findall(body)}
    if not names:
        return []
    ids = (Participant.objects.filter(conversation_id=conversation_id,
                                      state=Participant.State.ACTIVE)
           .alias(username_lower=Lower("user__username"))
           .filter(username_lower__in=names).values_list("user_id", flat=True))
    return [str(i) for i in sorted(ids)]


def _find_existing(conversation_id: int, sender: User, client_id: str) -> Message | None:
    return Message.objects.filter(conversation_id=conversation_id, sender_id=sender.pk,
                                  client_id=client_id).first()


def send_message(sender: User, conversation_id: int | str, *, client_id: str, kind: str,
                 body: str = "", shared_post_id: int | str | None = None,
                 shared_user_id: int | str | None = None, asset_id: int | str | None = None,
                 reply_to_id: int | str | None = None) -> tuple[Message, bool]:
    """Send a message; (the message, whether it was created). A retry with the same
    `client_id` returns the first message and sends nothing. A media message waits for its
    checks (PENDING, no seq, only the sender sees it) until `deliver_pending`."""
    me = selectors.participant_for(sender, conversation_id)
    client_id = _clean_client_id(client_id)
    existing = _find_existing(me.conversation_id, sender, client_id)
    if existing is not None:
        return existing, False
    if kind not in SENDABLE_KINDS:
        raise _invalid("kind", "One of " + ", ".join(SENDABLE_KINDS) + ".")
    body = _clean_body(body, required=kind == Message.Kind.TEXT)
    fields: dict[str, object] = {}
    if kind == Message.Kind.POST:
        fields["shared_post_id"] = _shared_post(sender, shared_post_id)
    if kind == Message.Kind.PROFILE:
        fields["shared_user_id"] = _shared_user(sender, shared_user_id)
    if kind == Message.Kind.MEDIA:
        fields["asset_id"] = _own_asset(sender, asset_id)
    if reply_to_id is not None:
        reply_to = selectors.message_for(me, reply_to_id)
        fields["reply_to_id"] = reply_to.pk
        if not Message.objects.filter(pk=reply_to.pk, seq__isnull=False).exclude(
                kind=Message.Kind.SYSTEM).exclude(state=Message.State.UNSENT).exists():
            raise _invalid("reply_to_id", "This message cannot be replied to.")

    try:
        return _send_locked(sender, me, client_id, kind, body, fields)
    except policy.MessagingRefused as refused:
        # the refusing transaction rolled back: moderation records (and escalates) now
        policy.record_refused_text(refused, conversation_id=me.conversation_id)
        raise


def _send_locked(sender: User, me: Participant, client_id: str, kind: str, body: str,
                 fields: dict[str, object]) -> tuple[Message, bool]:
    with transaction.atomic():
        conversation = lock_conversation(me.conversation_id)
        # Under the lock: a concurrent retry with the same client id committed first.
        existing = _find_existing(conversation.pk, sender, client_id)
        if existing is not None:
            return existing, False
        members = list(Participant.objects.filter(
            conversation=conversation, state=Participant.State.ACTIVE).select_related("user"))
        mine = next((p for p in members if p.user_id == sender.pk), None)
        if mine is None:  # removed or left while we waited for the lock
            raise NotFoundError(selectors.CONVERSATION_NOT_FOUND)
        in_request = any(p.accepted_at is None for p in members if p.user_id != sender.pk)
        first_in_request = in_request and not Message.objects.filter(
            conversation=conversation, sender_id=sender.pk).exclude(
                kind=Message.Kind.SYSTEM).exists()
        policy.check_send(sender, conversation, members, kind=kind, body=body,
                          is_first_in_request=first_in_request)
        message = Message(conversation=conversation, sender=sender, client_id=client_id,
                          kind=kind, body=body,
                          mentions=_mentions(conversation.pk, body) if body else [],
                          **fields)
        if kind == Message.Kind.MEDIA:
            message.state = Message.State.PENDING
            message.save()
            Participant.objects.filter(pk=mine.pk).update(
                last_activity_at=timezone.now(),
                accepted_at=mine.accepted_at or timezone.now())
            announce_message(message)
            # The upload may be checked already (no hook will fire again): settle it now.
            transaction.on_commit(partial(media_checks.settle_message, message.pk))
            return message, True
        message.seq = message.change_seq = next_seq(conversation, new_message=True)
        message.save()
        _fan_out(conversation, message, members)
    return message, True


def _fan_out(conversation: Conversation, message: Message, members: list[Participant]) -> None:
    """A message became visible: the others have one more unread and new activity, the
    sender has read up to it (writing means having read) and, by writing, accepted a
    request."""
    assert message.sender_id is not None
    assert message.seq is not None
    now = timezone.now()
    blocked = blocked_user_ids(message.sender_id)
    others = [p.pk for p in members if p.user_id != message.sender_id
              and p.user_id not in blocked]
    Participant.objects.filter(pk__in=others).update(
        unread_count=F("unread_count") + 1, last_activity_at=now)
    sender_row = next(p for p in members if p.user_id == message.sender_id)
    Participant.objects.filter(pk=sender_row.pk).update(
        last_read_seq=message.seq, unread_count=0, last_activity_at=now,
        accepted_at=sender_row.accepted_at or now)
    announce_message(message)
    announce_inbox([p.user_id for p in members if p.user_id not in blocked],
                   conversation.pk, new_message_id=message.pk, sender_blocked=blocked)


def _shared_post(sender: User, raw: object) -> int:
    post_id = parse_id(raw)
    if post_id is None or not visible_posts_for(viewer=sender).filter(
            pk=post_id, status=Post.Status.PUBLISHED).exists():
        raise NotFoundError(POST_NOT_FOUND, fields={"shared_post_id": [POST_NOT_FOUND]})
    return post_id


def _shared_user(sender: User, raw: object) -> int:
    user_id = parse_id(raw)
    if user_id is None or user_id in blocked_user_ids(sender.pk) or not User.objects.filter(
            discoverable_q(), pk=user_id).exists():
        raise NotFoundError(USER_NOT_FOUND, fields={"shared_user_id": [USER_NOT_FOUND]})
    return user_id


def _own_asset(sender: User, raw: object) -> int:
    asset_id = parse_id(raw)
    if asset_id is None or not MediaAsset.objects.filter(pk=asset_id,
                                                         owner_id=sender.pk).exists():
        raise NotFoundError(ASSET_NOT_FOUND, fields={"asset_id": [ASSET_NOT_FOUND]})
    return asset_id


def deliver_pending(message_id: int) -> Message | None:
    """A media message passed its checks: it takes its seq and reaches the others. Does
    nothing to a message no longer waiting (delivered, refused or unsent)."""
    conversation_id = (Message.objects.filter(pk=message_id)
                       .values_list("conversation_id", flat=True).first())
    if conversation_id is None:
        return None
    with transaction.atomic():
        conversation = lock_conversation(conversation_id)
        message = Message.objects.get(pk=message_id)
        if message.state != Message.State.PENDING:
            return message
        members = list(Participant.objects.filter(conversation=conversation,
                                                  state=Participant.State.ACTIVE))
        if not any(p.user_id == message.sender_id for p in members):
            # the sender left while it waited: nobody else ever sees it
            message.state, message.refusal = Message.State.REJECTED, ""
            message.save(update_fields=["state", "refusal"])
            return message
        message.state = Message.State.VISIBLE
        message.seq = message.change_seq = next_seq(conversation, new_message=True)
        message.save(update_fields=["state", "seq", "change_seq"])
        _fan_out(conversation, message, members)
    return message


def reject_pending(message_id: int, reason: str) -> Message | None:
    """A media message failed its checks: only its sender sees it, with `reason` in words."""
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.state != Message.State.PENDING:
            return message
        message.state = Message.State.REJECTED
        message.refusal = reason[:300]
        message.save(update_fields=["state", "refusal"])
        announce_message(message)
    return message


def _own_message(me: Participant, message_id: int | str, verb: str) -> Message:
    message = selectors.message_for(me, message_id)
    if message.sender_id != me.user_id or message.kind == Message.Kind.SYSTEM:
        raise ForbiddenError(f"You can {verb} only your own messages.", code="not_yours")
    return message


def _bump(message: Message, **changes: object) -> Message:
    """Apply changes to a message under the conversation lock with a fresh change_seq."""
    with transaction.atomic():
        conversation = lock_conversation(message.conversation_id)
        fresh = Message.objects.get(pk=message.pk)
        for name, value in changes.items():
            setattr(fresh, name, value)
        if fresh.seq is not None:
            fresh.change_seq = next_seq(conversation, new_message=False)
        fresh.save()
        announce_message(fresh)
    return fresh


def edit_message(user: User, conversation_id: int | str, message_id: int | str, *,
                 body: str) -> Message:
    """The sender rewrites a text message, within 15 minutes of sending it."""
    me = selectors.participant_for(user, conversation_id)
    message = _own_message(me, message_id, "edit")
    if message.kind != Message.Kind.TEXT or message.state != Message.State.VISIBLE:
        raise ApplicationError("Only a sent text message can be edited.", code="not_editable")
    if timezone.now() - message.created_at > timedelta(minutes=EDIT_WINDOW_MINUTES):
        raise ForbiddenError(f"A message can be edited only within {EDIT_WINDOW_MINUTES} "
                             "minutes of sending it.", code="edit_window_closed")
    body = _clean_body(body, required=True)
    if body == message.body:
        return message
    try:
        policy.check_edit(user, me.conversation, body)
    except policy.MessagingRefused as refused:
        policy.record_refused_text(refused, conversation_id=message.conversation_id)
        raise
    with transaction.atomic():
        lock_conversation(message.conversation_id)
        # an unsend or a moderator's removal committed meanwhile: no text may come back
        if not Message.objects.filter(pk=message.pk, state=Message.State.VISIBLE).exists():
            raise ApplicationError("Only a sent text message can be edited.",
                                   code="not_editable")
        edited = _bump(message, body=body, edited_at=timezone.now(),
                       mentions=_mentions(message.conversation_id, body))
        offline.quoted_message_changed(edited, active_user_ids(edited.conversation_id))
        return edited


def unsend_message(user: User, conversation_id: int | str, message_id: int | str) -> Message:
    """Delete for everyone, at any time: a tombstone without its content is left."""
    me = selectors.participant_for(user, conversation_id)
    message = _own_message(me, message_id, "unsend")
    if message.state == Message.State.UNSENT:
        return message
    removed = ApplicationError("Our moderators removed this message for everyone already; "
                               "you can appeal that from your notices.",
                               code="removed_by_moderation")
    if message.state == Message.State.REMOVED:
        raise removed
    with transaction.atomic():  # the tombstone and its reactions' removal together
        lock_conversation(message.conversation_id)
        # a removal committed meanwhile keeps the content an appeal would put back
        if Message.objects.filter(pk=message.pk, state=Message.State.REMOVED).exists():
            raise removed
        Reaction.objects.filter(message=message).delete()
        unsent = _bump(message, state=Message.State.UNSENT, unsent_at=timezone.now(), body="",
                       shared_post_id=None, shared_user_id=None, asset_id=None,
                       reply_to_id=None, mentions=[], refusal="")
        offline.quoted_message_changed(unsent, active_user_ids(unsent.conversation_id))
        return unsent


def hide_message(user: User, conversation_id: int | str, message_id: int | str) -> None:
    """Delete for me: the message stays for everyone else."""
    me = selectors.participant_for(user, conversation_id)
    message = selectors.message_for(me, message_id)
    HiddenMessage.objects.get_or_create(message=message, user_id=user.pk)
    transaction.on_commit(lambda: live.message_hidden(user.pk, me.conversation_id, message.pk))


def _reactable(me: Participant, message_id: int | str) -> Message:
    message = selectors.message_for(me, message_id)
    if message.state != Message.State.VISIBLE or message.kind == Message.Kind.SYSTEM:
        raise ApplicationError("This message cannot take reactions.", code="not_reactable")
    return message


def _clean_emoji(emoji: object) -> str:
    if (not isinstance(emoji, str) or not emoji.strip() or len(emoji) > EMOJI_MAX
            or any(ch.isspace() for ch in emoji) or not emoji.isprintable()):
        raise _invalid("emoji", f"One emoji (at most {EMOJI_MAX} characters, no spaces).")
    return emoji


def react(user: User, conversation_id: int | str, message_id: int | str, *,
          emoji: str) -> Message:
    """React to a message (one reaction per person: a new one replaces theirs)."""
    me = selectors.participant_for(user, conversation_id)
    message = _reactable(me, message_id)
    emoji = _clean_emoji(emoji)
    with transaction.atomic():
        # The conversation lock first, as every other change takes it: no lock-order
        # cycles, and an unsend that committed meanwhile is seen below.
        lock_conversation(message.conversation_id)
        if not Message.objects.filter(pk=message.pk, state=Message.State.VISIBLE).exists():
            raise ApplicationError("This message cannot take reactions.", code="not_reactable")
        current = Reaction.objects.filter(message=message, user_id=user.pk).first()
        if current is not None and current.emoji == emoji:
            return message
        Reaction.objects.update_or_create(message=message, user_id=user.pk,
                                          defaults={"emoji": emoji})
        return _bump(message)


def unreact(user: User, conversation_id: int | str, message_id: int | str) -> Message:
    me = selectors.participant_for(user, conversation_id)
    message = selectors.message_for(me, message_id)
    with transaction.atomic():
        lock_conversation(message.conversation_id)
        deleted, _ = Reaction.objects.filter(message=message, user_id=user.pk).delete()
        if not deleted:
            return message
        return _bump(message)

