"""Reporting a live or one message of its chat: whoever may see the live (`live_for`, the
one rule) reports it; moderation gets a copy of the live with its latest frame and the
chat around the report (`evidence`), and a case in its live queue (P1 while on air)."""

from __future__ import annotations

from apps.accounts.models import User
from apps.core.errors import NotFoundError
from apps.core.ids import id_or_404
from apps.live.models import LiveChatMessage
from apps.live.safety import evidence
from apps.live.selectors import live_for
from apps.moderation import services as moderation_services
from apps.moderation.models import Report

MESSAGE_NOT_FOUND = "This message isn't available."


def live_report(reporter: User, live_id: int | str, *, policy: str, details: str = "",
                message_id: int | str | None = None) -> Report:
    """Report the live, or (with `message_id`) a message of its chat the reporter could
    read (a message filters or the host hid is nobody's to report: a 404)."""
    live = live_for(reporter, live_id)
    if message_id in (None, ""):
        copy = evidence.live_copy(live, chat=evidence.chat_latest(live))
        return moderation_services.live_report_create(reporter=reporter, live=copy,
                                                      policy=policy, details=details)
    pk = id_or_404(message_id, MESSAGE_NOT_FOUND)
    message = (LiveChatMessage.objects.filter(pk=pk, live_id=live.pk, hidden="")
               .select_related("author").first())
    if message is None:
        raise NotFoundError(MESSAGE_NOT_FOUND, fields={"message_id": [MESSAGE_NOT_FOUND]})
    copy = evidence.live_copy(live, chat=evidence.chat_around(message), reported_id=message.pk)
    return moderation_services.live_report_create(reporter=reporter, live=copy, policy=policy,
                                                  details=details, message_id=message.pk)
