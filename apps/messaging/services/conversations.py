"""Conversations: start a one-to-one, create and manage a group (members, admins, name,
leave), and each member's own view of it (requests, mute, pin, archive, clear)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.ids import parse_id
from apps.messaging import policy, selectors
from apps.messaging.models import Conversation, Message, MessagingSettings, Participant
from apps.messaging.services._common import (
    GROUP_MAX_MEMBERS,
    GROUP_NAME_MAX,
    active_user_ids,
    announce_inbox,
    announce_message,
    announce_read,
    lock_conversation,
    require_admin,
    system_message,
)
from apps.social.selectors import USER_NOT_FOUND, discoverable_q


def direct_key(a: int, b: int) -> str:
    """The one-to-one conversation's key of two user ids (either order)."""
    low, high = sorted((a, b))
    return f"{low}:{high}"


def users_by_ids(raw_ids: Iterable[object]) -> list[User]:
    """The discoverable users named by `raw_ids` (ints or digit strings), in order and
    without repeats, or a 404 naming nothing when one does not exist for the caller."""
    ids: list[int] = []
    for raw in raw_ids:
        value = parse_id(raw)
        if value is None:
            raise NotFoundError(USER_NOT_FOUND)
        if value not in ids:
            ids.append(value)
    found = {u.pk: u for u in User.objects.filter(discoverable_q(), pk__in=ids)}
    if len(found) != len(ids):
        raise NotFoundError(USER_NOT_FOUND)
    return [found[i] for i in ids]


def _name(raw: str) -> str:
    name = " ".join(raw.split())
    if len(name) > GROUP_NAME_MAX:
        raise ApplicationError(f"A group name has at most {GROUP_NAME_MAX} characters.",
                               fields={"name": ["Too long."]})
    return name


def start_direct(sender: User, recipient: User) -> Conversation:
    """The one-to-one conversation of the two (created if needed). A new one sits in the
    recipient's Requests when `policy.lands_in_requests` says so. Nothing is shown in
    either list until a message is sent."""
    if sender.pk == recipient.pk:
        raise ApplicationError("You cannot start a conversation with yourself.",
                               code="self_conversation")
    key = direct_key(sender.pk, recipient.pk)
    existing = Conversation.objects.filter(direct_key=key).first()
    if existing is not None:  # nobody leaves a one-to-one (they clear it): both still in
        return existing
    policy.check_start(sender, recipient)
    now = timezone.now()
    in_requests = policy.lands_in_requests(sender, recipient)
    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                kind=Conversation.Kind.DIRECT, created_by=sender, direct_key=key)
            Participant.objects.bulk_create([
                Participant(conversation=conversation, user=sender, accepted_at=now),
                Participant(conversation=conversation, user=recipient,
                            accepted_at=None if in_requests else now),
            ])
    except IntegrityError:  # the other one started it at the same moment
        return Conversation.objects.get(direct_key=key)
    return conversation


def create_group(creator: User, member_ids: Iterable[object], name: str = "") -> Conversation:
    """A group of the creator (its admin) and the members (at most 32 in all). Each member
    the rules let in; one who does not follow the creator finds it in their Requests."""
    members = [u for u in users_by_ids(member_ids) if u.pk != creator.pk]
    if not members:
        raise ApplicationError("Add at least one person to the group.",
                               fields={"member_ids": ["Add at least one person."]})
    if len(members) + 1 > GROUP_MAX_MEMBERS:
        raise ApplicationError(f"A group has at most {GROUP_MAX_MEMBERS} members.",
                               code="group_full",
                               fields={"member_ids": [f"At most {GROUP_MAX_MEMBERS - 1}."]})
    clean_name = _name(name)
    for member in members:
        policy.check_start(creator, member)
    now = timezone.now()
    with transaction.atomic():
        conversation = Conversation.objects.create(
            kind=Conversation.Kind.GROUP, created_by=creator, name=clean_name)
        rows = [Participant(conversation=conversation, user=creator,
                            role=Participant.Role.ADMIN, accepted_at=now, last_activity_at=now)]
        rows += [Participant(conversation=conversation, user=m, last_activity_at=now,
                             accepted_at=None if policy.lands_in_requests(creator, m) else now)
                 for m in members]
        Participant.objects.bulk_create(rows)
        locked = lock_conversation(conversation.pk)
        message = system_message(locked, creator, "created",
                                 users=[str(m.pk) for m in members], name=clean_name)
        Participant.objects.filter(conversation=locked, user_id=creator.pk).update(
            last_read_seq=locked.last_seq)
        announce_message(message)
        announce_inbox([creator.pk, *(m.pk for m in members)], conversation.pk)
    conversation.refresh_from_db()
    return conversation


def add_members(actor: User, conversation_id: int | str,
                member_ids: Iterable[object]) -> list[Participant]:
    """An admin adds people (someone who left or was removed comes back and sees only what
    follows)."""
    me = selectors.participant_for(actor, conversation_id)
    require_admin(me)
    users = [u for u in users_by_ids(member_ids) if u.pk != actor.pk]
    if not users:
        raise ApplicationError("Choose someone to add.",
                               fields={"member_ids": ["Choose someone to add."]})
    for user in users:
        policy.check_start(actor, user)
    now = timezone.now()
    with transaction.atomic():
        conversation = lock_conversation(me.conversation_id)
        existing = {p.user_id: p for p in Participant.objects.filter(
            conversation=conversation, user_id__in=[u.pk for u in users])}
        new_users = [u for u in users if u.pk not in existing
                     or existing[u.pk].state != Participant.State.ACTIVE]
        if not new_users:
            raise ApplicationError("They are already in the group.", code="already_members")
        count = Participant.objects.filter(conversation=conversation,
                                           state=Participant.State.ACTIVE).count()
        if count + len(new_users) > GROUP_MAX_MEMBERS:
            raise ApplicationError(f"A group has at most {GROUP_MAX_MEMBERS} members.",
                                   code="group_full")
        joined_seq = conversation.last_seq  # they see the "added" message and what follows
        rows = []
        for user in new_users:
            accepted = None if policy.lands_in_requests(actor, user) else now
            row = existing.get(user.pk)
            if row is None:
                row = Participant(conversation=conversation, user=user)
            row.state, row.role = Participant.State.ACTIVE, Participant.Role.MEMBER
            row.joined_seq = row.cleared_seq = row.last_read_seq = joined_seq
            row.unread_count, row.accepted_at, row.left_at = 0, accepted, None
            row.last_activity_at = now
            row.save()
            rows.append(row)
        message = system_message(conversation, actor, "added",
                                 users=[str(u.pk) for u in new_users])
        _after_system(conversation, actor, message)
    return rows


def _after_system(conversation: Conversation, actor: User, message: Message) -> None:
    """A system message moves everyone's activity time; the actor has read it."""
    now = timezone.now()
    Participant.objects.filter(conversation=conversation, state=Participant.State.ACTIVE
                               ).update(last_activity_at=now)
    Participant.objects.filter(conversation=conversation, user_id=actor.pk).update(
        last_read_seq=conversation.last_seq)
    announce_message(message)
    announce_inbox(active_user_ids(conversation.pk), conversation.pk)


def remove_member(actor: User, conversation_id: int | str, user_id: int | str) -> None:
    """An admin removes a member: from now on the conversation does not exist for them."""
    me = selectors.participant_for(actor, conversation_id)
    require_admin(me)
    target_id = parse_id(user_id)
    if target_id is None:
        raise NotFoundError("This person is not in the group.", code="not_member")
    if target_id == actor.pk:
        raise ApplicationError("To leave the group, use leave.", code="remove_self")
    with transaction.atomic():
        conversation = lock_conversation(me.conversation_id)
        updated = Participant.objects.filter(
            conversation=conversation, user_id=target_id, state=Participant.State.ACTIVE
        ).update(state=Participant.State.REMOVED, left_at=timezone.now())
        if not updated:
            raise NotFoundError("This person is not in the group.", code="not_member")
        message = system_message(conversation, actor, "removed", users=[str(target_id)])
        _after_system(conversation, actor, message)
        announce_inbox([target_id], conversation.pk)


def leave(user: User, conversation_id: int | str) -> None:
    """Leave a group (the last admin hands the role to the longest-standing member)."""
    me = selectors.participant_for(user, conversation_id)
    if me.conversation.kind != Conversation.Kind.GROUP:
        raise ApplicationError("A one-to-one conversation cannot be left; delete it for "
                               "yourself instead.", code="not_a_group")
    with transaction.atomic():
        conversation = lock_conversation(me.conversation_id)
        Participant.objects.filter(pk=me.pk).update(state=Participant.State.LEFT,
                                                    left_at=timezone.now())
        others = Participant.objects.filter(conversation=conversation,
                                            state=Participant.State.ACTIVE)
        if not others.filter(role=Participant.Role.ADMIN).exists():
            heir = others.order_by("joined_at", "id").first()
            if heir is not None:
                Participant.objects.filter(pk=heir.pk).update(role=Participant.Role.ADMIN)
        message = system_message(conversation, user, "left")
        _after_system(conversation, user, message)
        announce_inbox([user.pk], conversation.pk)


def rename(user: User, conversation_id: int | str, name: str) -> Conversation:
    """Any member may name the group."""
    me = selectors.participant_for(user, conversation_id)
    if me.conversation.kind != Conversation.Kind.GROUP:
        raise ApplicationError("Only a group has a name.", code="not_a_group")
    clean = _name(name)
    with transaction.atomic():
        conversation = lock_conversation(me.conversation_id)
        if conversation.name == clean:
            return conversation
        conversation.name = clean
        conversation.save(update_fields=["name"])
        message = system_message(conversation, user, "renamed", name=clean)
        _after_system(conversation, user, message)
    return conversation


def set_role(actor: User, conversation_id: int | str, user_id: int | str,
             role: str) -> Participant:
    """An admin makes a member an admin, or an admin a member (a group keeps one admin)."""
    me = selectors.participant_for(actor, conversation_id)
    require_admin(me)
    if role not in Participant.Role.values:
        raise ApplicationError("Unknown role.", fields={"role": ["admin or member."]})
    target_id = parse_id(user_id)
    if target_id is None:
        raise NotFoundError("This person is not in the group.", code="not_member")
    with transaction.atomic():
        conversation = lock_conversation(me.conversation_id)
        target = Participant.objects.filter(conversation=conversation, user_id=target_id,
                                            state=Participant.State.ACTIVE).first()
        if target is None:
            raise NotFoundError("This person is not in the group.", code="not_member")
        if target.role == role:
            return target
        if role == Participant.Role.MEMBER and not Participant.objects.filter(
                conversation=conversation, state=Participant.State.ACTIVE,
                role=Participant.Role.ADMIN).exclude(pk=target.pk).exists():
            raise ApplicationError("A group needs at least one admin.", code="last_admin")
        target.role = role
        target.save(update_fields=["role"])
        message = system_message(conversation, actor, "role", users=[str(target_id)],
                                 role=role)
        _after_system(conversation, actor, message)
    return target


# --- a member's own view -------------------------------------------------------------------


def accept_request(user: User, conversation_id: int | str) -> Participant:
    """Move a conversation from Requests to the inbox (the sender may write freely now)."""
    me = selectors.participant_for(user, conversation_id)
    if me.accepted_at is None:
        me.accepted_at = timezone.now()
        me.save(update_fields=["accepted_at"])
        announce_inbox(active_user_ids(me.conversation_id), me.conversation_id)
    return me


def delete_request(user: User, conversation_id: int | str) -> None:
    """Decline a request: a group's is left; a one-to-one's is cleared and stays out of
    the lists unless its sender writes again (they may not more than once while it is
    unanswered)."""
    me = selectors.participant_for(user, conversation_id)
    if me.accepted_at is not None:
        raise ApplicationError("This conversation is not a request.", code="not_a_request")
    if me.conversation.kind == Conversation.Kind.GROUP:
        leave(user, conversation_id)
        return
    clear_chat(user, conversation_id)


def clear_chat(user: User, conversation_id: int | str) -> Participant:
    """Delete the chat for me: what is there now is gone for this member only; the
    conversation comes back to the list with the next message."""
    me = selectors.participant_for(user, conversation_id)
    with transaction.atomic():
        last = Conversation.objects.values_list("last_seq", flat=True).get(
            pk=me.conversation_id)
        Participant.objects.filter(pk=me.pk).update(
            cleared_seq=last, last_read_seq=last, unread_count=0)
    me.refresh_from_db()
    announce_inbox([user.pk], me.conversation_id)
    return me


def _set_own(user: User, conversation_id: int | str, **fields: datetime | None) -> Participant:
    me = selectors.participant_for(user, conversation_id)
    for name, value in fields.items():
        setattr(me, name, value)
    me.save(update_fields=list(fields))
    announce_inbox([user.pk], me.conversation_id)
    return me


def set_muted(user: User, conversation_id: int | str, *,
              until: datetime | None) -> Participant:
    """Mute until a moment (None: unmute). No notifications; not in the unread total."""
    return _set_own(user, conversation_id, muted_until=until)


def set_pinned(user: User, conversation_id: int | str, *, pinned: bool) -> Participant:
    """Pin to the top of the list (at most `selectors.PINS_MAX`)."""
    me = selectors.participant_for(user, conversation_id)
    if pinned and me.pinned_at is None and Participant.objects.filter(
            user_id=user.pk, state=Participant.State.ACTIVE,
            pinned_at__isnull=False).count() >= selectors.PINS_MAX:
        raise ApplicationError(f"You can pin up to {selectors.PINS_MAX} conversations; "
                               "unpin one first.", code="too_many_pins")
    if (me.pinned_at is not None) == pinned:
        return me
    return _set_own(user, conversation_id, pinned_at=timezone.now() if pinned else None)


def set_archived(user: User, conversation_id: int | str, *, archived: bool) -> Participant:
    return _set_own(user, conversation_id, archived_at=timezone.now() if archived else None)


def update_settings(user: User, *, who_can_message: str | None = None,
                    read_receipts: bool | None = None) -> MessagingSettings:
    """Who may message me, whether others see when I read."""
    row = selectors.settings_for(user)
    if who_can_message is not None:
        if who_can_message not in MessagingSettings.WhoCanMessage.values:
            raise ApplicationError("Unknown choice.", fields={
                "who_can_message": ["everyone, following, friends or no_one."]})
        row.who_can_message = who_can_message
    if read_receipts is not None:
        row.read_receipts = read_receipts
    row.save()
    return row


def mark_read(participant: Participant, seq: int) -> Participant:
    """The member has read up to `seq` (never backwards, never past the last message);
    the unread count is recounted from the messages past it."""
    with transaction.atomic():
        # Only our row: the conversation row is locked by senders, who then update the
        # participants; locking both here (a joined FOR UPDATE) deadlocked against a send.
        me = Participant.objects.select_for_update(of=("self",)).select_related("conversation").get(
            pk=participant.pk)
        target = min(max(seq, 0), me.conversation.last_seq)
        if target <= me.last_read_seq:
            return me
        me.last_read_seq = target
        me.unread_count = (Message.objects.filter(
            conversation_id=me.conversation_id, seq__gt=target)
            .exclude(Q(sender_id=me.user_id) | Q(kind=Message.Kind.SYSTEM))
            .exclude(policy.blocked_sender_q(me.user_id)).count())
        me.save(update_fields=["last_read_seq", "unread_count"])
        announce_read(me)
        announce_inbox([me.user_id], me.conversation_id)
    return me
