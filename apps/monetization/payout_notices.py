"""Telling creators about their payouts, identity checks (KYC) and tax forms, in words.

One notification type, "payouts" (mandatory, like security notices: what happens to
someone's money is told whatever their preferences), registered from
`MonetizationConfig.ready()`. Each notice carries its own title and body (written by the
service that decided) and the page it opens (/settings/payouts)."""

from __future__ import annotations

from apps.notifications import services as notifications
from apps.notifications import types
from apps.notifications.services import Candidate

PAGE = "/settings/payouts"


PAYOUTS = types.NotificationType(
    "payouts", "Payouts, identity checks and tax forms", mandatory=True,
    words=types.stored_words("About your payouts"),
    defaults={types.Channel.IN_APP: True, types.Channel.PUSH: True, types.Channel.EMAIL: True})


def register_types() -> None:
    types.register(PAYOUTS)


def tell(*, user_id: int, key: str, title: str, body: str, path: str = PAGE) -> None:
    """One notice (once per `key`), in the caller's transaction."""
    notifications.notify([Candidate(user_id, PAYOUTS.name, f"payouts:{key}",
                                    target_type="user", target_id=user_id,
                                    data={"title": title, "body": body, "path": path})])
