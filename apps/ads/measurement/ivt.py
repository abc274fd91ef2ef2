"""Invalid traffic: which reported events are not billed, decided before billing.

Each rule is in `judge`, a pure function of the facts `events.ad_event_record` reads (one
query each): the first rule an event breaks is its reason. An invalid event is still
recorded (the report shows invalid traffic) but never charged and never counted as a view,
click or impression.

- bot: an empty user agent or one matching SWIPEME_ADS_BOT_USER_AGENTS;
- expired: a view or completion of an ad served longer ago than the measurement window, a
  click later than the click window (the token itself is refused after a day);
- viewer_mismatch: a token served to a signed-in user, sent by someone else;
- duplicate: this token's event of this kind was already recorded (a replay);
- no_impression: a view, completion or click whose token has no valid impression before it;
- too_fast: a view earlier than possible (a 2 s view less than 2 s after the ad was served,
  or its impression too close before it; the same for 6 s);
- rate: more events of the kind from the viewer in the last minute than a person makes;
- repeated_click: the viewer already clicked this ad within the repeat window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from django.conf import settings

from apps.ads.models.measurement import AdEventKind, InvalidReason

# The least time after serving, and after the token's impression was received, at which an
# event of the kind can truly happen. The impression is sent after 1 s on screen, a 2 s view
# after 2 s of playback: the gap after the impression allows for the network.
MIN_AFTER_SERVED = {
    AdEventKind.IMPRESSION: timedelta(0),
    AdEventKind.VIEW_2S: timedelta(seconds=2),
    AdEventKind.VIEW_6S: timedelta(seconds=6),
    AdEventKind.COMPLETION: timedelta(seconds=1),
    AdEventKind.CLICK: timedelta(0),
}
MIN_AFTER_IMPRESSION = {
    AdEventKind.VIEW_2S: timedelta(milliseconds=500),
    AdEventKind.VIEW_6S: timedelta(seconds=4, milliseconds=500),
    AdEventKind.COMPLETION: timedelta(milliseconds=500),
    AdEventKind.CLICK: timedelta(0),
}


@lru_cache(maxsize=4)
def _bot_pattern(source: str) -> re.Pattern[str]:
    return re.compile(source, re.IGNORECASE)


def is_bot(user_agent: str) -> bool:
    agent = user_agent.strip()
    return not agent or bool(_bot_pattern(settings.SWIPEME_ADS_BOT_USER_AGENTS).search(agent))


@dataclass(frozen=True)
class Facts:
    kind: str
    user_agent: str
    served_at: datetime
    now: datetime
    token_user_id: int | None  # the signed-in viewer the ad was served to
    caller_user_id: int | None  # who sends the event (None signed out)
    recorded_kinds: frozenset[str]  # this auction's valid events so far
    impression_at: datetime | None  # when this auction's valid impression was received
    recent_of_kind: int  # the viewer's events of this kind in the last minute
    clicked_recently: bool  # the viewer's valid click on this ad within the repeat window


def judge(facts: Facts) -> str:
    """The first rule the event breaks (an `InvalidReason`), or "" when it is valid."""
    kind, age = facts.kind, facts.now - facts.served_at
    if is_bot(facts.user_agent):
        return InvalidReason.BOT
    window = (
        settings.SWIPEME_ADS_CLICK_WINDOW_SECONDS
        if kind == AdEventKind.CLICK
        else settings.SWIPEME_ADS_MEASURE_WINDOW_SECONDS
    )
    if age > timedelta(seconds=window):
        return InvalidReason.EXPIRED
    if facts.token_user_id is not None and facts.caller_user_id != facts.token_user_id:
        return InvalidReason.VIEWER_MISMATCH
    if kind in facts.recorded_kinds:
        return InvalidReason.DUPLICATE
    if kind != AdEventKind.IMPRESSION and facts.impression_at is None:
        return InvalidReason.NO_IMPRESSION
    if age < MIN_AFTER_SERVED[AdEventKind(kind)]:
        return InvalidReason.TOO_FAST
    if (
        facts.impression_at is not None
        and kind != AdEventKind.IMPRESSION
        and (facts.now - facts.impression_at < MIN_AFTER_IMPRESSION[AdEventKind(kind)])
    ):
        return InvalidReason.TOO_FAST
    if facts.recent_of_kind >= settings.SWIPEME_ADS_MAX_EVENTS_PER_MINUTE:
        return InvalidReason.RATE
    if kind == AdEventKind.CLICK and facts.clicked_recently:
        return InvalidReason.REPEATED_CLICK
    return InvalidReason.NONE
