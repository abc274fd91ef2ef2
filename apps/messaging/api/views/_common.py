"""What the direct messages API views share: the error documentation, path and query
parameters, input helpers and field types."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request

from apps.core.api.schema import ErrorDocs
from apps.core.errors import ApplicationError
from apps.messaging import selectors
from apps.messaging.api.serializers import (
    conversation_payloads,
)
from apps.messaging.models import Participant

errors = ErrorDocs({
    400: "Invalid input (malformed JSON, wrong types, too long, bad cursor), or a rule of "
         "the conversation (not a group, already a member, last admin).",
    403: "Refused, with words to show: the other person's settings, blocks, age rules, an "
         "unanswered request's limit, a message that looks abusive or like spam, not your "
         "message, the edit window closed, not an admin.",
    404: "No such conversation (or you are not in it), message, user, post or upload.",
    429: "Throttled, or the same text sent to many people.",
})
TAGS = ["messages"]
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)

CONVERSATION_ID = OpenApiParameter("conversation_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                                   description="The conversation's id (a string).")
MESSAGE_ID = OpenApiParameter("message_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                              description="The message's id (a string).")
USER_ID = OpenApiParameter("user_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The member's user id (a string).")
LIMIT = OpenApiParameter("limit", OpenApiTypes.INT, OpenApiParameter.QUERY,
                         description=f"Page size, 1 to {selectors.MAX_PAGE} (default 30).")


def _valid(serializer_class: type[serializers.Serializer[Any]], request: Request
           ) -> dict[str, Any]:
    data = serializer_class(data=request.data if request.data is not None else {})
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def _query_int(request: Request, name: str, *, default: int | None = None,
               minimum: int = 0) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or int(raw) < minimum:
        raise ApplicationError(f"{name}: A whole number of at least {minimum}.",
                               fields={name: [f"A whole number of at least {minimum}."]})
    return int(raw)


def _conversation(me: Participant) -> dict[str, Any]:
    [payload] = conversation_payloads(me.user, [me])
    return payload


def _refetch(user: Any, conversation_id: str) -> dict[str, Any]:
    return _conversation(selectors.participant_for(user, conversation_id))


class _TextField(serializers.CharField):
    """Text only: a number or a list where text belongs is a 400, not quietly made text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class _IdField(serializers.CharField):
    """A 64-bit id, as a string (an integer is taken too)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
