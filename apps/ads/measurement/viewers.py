"""Who a served ad's viewer is, for the report's cells: age band and country, read once
per event from the signed-in viewer's profile (signed-out viewers have neither)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from apps.accounts.models import User

# The report's age bands, youngest first (label, lowest age): the same as creator analytics'.
AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("13-17", 13),
    ("18-24", 18),
    ("25-34", 25),
    ("35-44", 35),
    ("45-54", 45),
    ("55+", 55),
)


@dataclass(frozen=True)
class ViewerCell:
    user_id: int | None
    age_band: str  # "" unknown
    country: str  # "" unknown


def age_band_of(born: date | None, today: date) -> str:
    if born is None:
        return ""
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    band = ""
    for label, lowest in AGE_BANDS:
        if age >= lowest:
            band = label
    return band


def user_id_of(viewer_key: str) -> int | None:
    """The user id of a `u:<id>` viewer key; None for a device or session key."""
    if not viewer_key.startswith("u:"):
        return None
    try:
        return int(viewer_key[2:])
    except ValueError:
        return None


def viewer_cell(viewer_key: str, today: date) -> ViewerCell:
    user_id = user_id_of(viewer_key)
    if user_id is None:
        return ViewerCell(user_id=None, age_band="", country="")
    row = User.objects.filter(pk=user_id).values("date_of_birth", "country").first()
    if row is None:
        return ViewerCell(user_id=user_id, age_band="", country="")
    return ViewerCell(
        user_id=user_id,
        age_band=age_band_of(row["date_of_birth"], today),
        country=(row["country"] or "").upper()[:2],
    )
