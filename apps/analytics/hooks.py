"""Questions analytics asks higher apps (apps.core.hooks.Hook; registered in their ready()).

- `creator_earnings`: a creator's earnings in the period, for the analytics answer's
  "earnings" block. `fn(*, creator_id, days, views) -> dict` with `available` (bool),
  `message`, and when available `currency`, `earned_minor` and `rpm_minor` (cents per 1,000
  views, None without views). monetization answers; with nothing registered the block says
  earnings are not available."""

from __future__ import annotations

from typing import Any, Protocol

from apps.core.hooks import Hook


class CreatorEarningsFn(Protocol):
    def __call__(self, *, creator_id: int, days: int, views: int) -> dict[str, Any]: ...


creator_earnings: Hook[CreatorEarningsFn] = Hook("analytics.creator_earnings")


def earnings_for(*, creator_id: int, days: int, views: int,
                 unavailable: str) -> dict[str, Any]:
    """The first registered answer, or "not available" (`unavailable`'s words)."""
    for fn in creator_earnings:
        return fn(creator_id=creator_id, days=days, views=views)
    return {"available": False, "message": unavailable}
