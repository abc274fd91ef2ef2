"""The direct messages API for the mobile and web clients, one module per use case:
conversations (list by folder, start, detail, rename) and members, messages (pages, send,
edit, unsend, delete for me, reactions), a member's own view (read, requests, leave,
clear, mute, pin, archive), settings and the unread badge. Thin views over `selectors` and
`services`: every conversation endpoint goes through `selectors.participant_for` (a 404 for
anyone who is not an active member)."""

from apps.messaging.api.views.conversations import (
    ConversationDetailApi,
    ConversationListApi,
    MemberApi,
    MembersApi,
)
from apps.messaging.api.views.messages import (
    MessageApi,
    MessageHideApi,
    MessagesApi,
    ReactionApi,
)
from apps.messaging.api.views.own_view import (
    AcceptApi,
    ArchiveApi,
    ClearApi,
    DeclineApi,
    LeaveApi,
    MuteApi,
    PinApi,
    ReadApi,
)
from apps.messaging.api.views.settings import SettingsApi, UnreadApi

__all__ = [
    "AcceptApi", "ArchiveApi", "ClearApi", "ConversationDetailApi", "ConversationListApi",
    "DeclineApi", "LeaveApi", "MemberApi", "MembersApi", "MessageApi", "MessageHideApi",
    "MessagesApi", "MuteApi", "PinApi", "ReactionApi", "ReadApi", "SettingsApi", "UnreadApi",
]
