"""Every write of direct messages (use cases in the modules; callers import from here)."""

from apps.messaging.services.conversations import (
    accept_request,
    add_members,
    clear_chat,
    create_group,
    delete_request,
    direct_key,
    leave,
    mark_read,
    remove_member,
    rename,
    set_archived,
    set_muted,
    set_pinned,
    set_role,
    start_direct,
    update_settings,
    users_by_ids,
)
from apps.messaging.services.messages import (
    deliver_pending,
    edit_message,
    hide_message,
    react,
    reject_pending,
    send_message,
    unreact,
    unsend_message,
)
from apps.messaging.services.moderation import remove_by_moderation, restore_by_moderation

__all__ = [
    "accept_request", "add_members", "clear_chat", "create_group", "delete_request",
    "deliver_pending", "direct_key", "edit_message", "hide_message", "leave", "mark_read",
    "react", "reject_pending", "remove_by_moderation", "remove_member", "rename",
    "restore_by_moderation", "send_message", "set_archived",
    "set_muted", "set_pinned", "set_role", "start_direct", "unreact", "unsend_message",
    "update_settings", "users_by_ids",
]
