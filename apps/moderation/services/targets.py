"""The account that answers for a moderation target."""

from __future__ import annotations

from apps.accounts.models import User
from apps.comments.models import Comment
from apps.content.models import Post, Sound
from apps.core.errors import ApplicationError, NotFoundError
from apps.moderation.models import LiveChatEvidence, LiveEvidence, MessageEvidence, TargetType


def subject_of(*, target_type: str, target_id: int) -> int | None:
    """The account that answers for a target (None for a catalogue sound with no owner).
    Raises NotFoundError when the target does not exist."""
    row: int | None
    if target_type == TargetType.POST:
        row = Post.objects.filter(pk=target_id).values_list("author_id", flat=True).first()
    elif target_type == TargetType.COMMENT:
        row = Comment.objects.filter(pk=target_id).values_list("author_id", flat=True).first()
    elif target_type == TargetType.USER:
        row = User.objects.filter(pk=target_id).values_list("id", flat=True).first()
    elif target_type == TargetType.MESSAGE:
        # Never messaging's tables: the copy the report kept (`services.messages`).
        senders = list(MessageEvidence.objects.filter(message_id=target_id)
                       .values_list("sender_id", flat=True)[:1])
        if not senders:
            raise NotFoundError("Message not found.", code="not_found")
        return senders[0]
    elif target_type == TargetType.LIVE:
        # Never live's tables: the copy a report or the frame sampler kept (`services.lives`).
        hosts = list(LiveEvidence.objects.filter(live_id=target_id).order_by("-id")
                     .values_list("host_id", flat=True)[:1])
        if not hosts:
            raise NotFoundError("Live not found.", code="not_found")
        return hosts[0]
    elif target_type == TargetType.LIVE_MESSAGE:
        authors = list(LiveChatEvidence.objects.filter(message_id=target_id, reported=True)
                       .values_list("author_id", flat=True)[:1])
        if not authors:
            raise NotFoundError("Message not found.", code="not_found")
        return authors[0]
    elif target_type == TargetType.SOUND:
        found = Sound.objects.filter(pk=target_id).values_list("original_owner_id", flat=True)
        if not found:
            raise NotFoundError("Sound not found.", code="not_found")
        return found[0]
    else:
        raise ApplicationError("Unknown target type.", code="invalid_target_type",
                               fields={"target_type": [f"One of {TargetType.values}."]})
    if row is None:
        raise NotFoundError(f"{target_type.capitalize()} not found.", code="not_found")
    return row
