"""The feed's upward hooks (docs/architecture.md, "Apps and layers"): questions the feed
asks higher apps without importing them.

`ad_slots`: the For You page asks the registered filler (ads) which of its positions carry
an ad, and for the ads' API items. The feed hands over only what brand safety and targeting
need (each post's sensitive flag and hashtags, the viewer, the request's country, language
and device, and where the ad load stands from the cursor); the filler answers the items to
insert, already rendered in the shape `FeedAdSerializer` documents, and the ad load to
carry to the next page. A filler that fails or is slow to answer costs the page its ads,
never the page: errors are logged and the posts are served alone."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from apps.core.hooks import Hook

if TYPE_CHECKING:
    from apps.accounts.models import User
    from apps.experiments.evaluation import Evaluation

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AdSlotPost:
    post_id: int
    sensitive: bool  # moderation's age restriction: no ad next to it
    hashtags: tuple[str, ...]


@dataclass(frozen=True)
class AdSlotRequest:
    user: User | None
    session_id: str | None
    posts: tuple[AdSlotPost, ...]  # the page's organic posts, in order
    since_last_ad: int  # organic posts served since the viewer's last ad (the cursor's)
    gap: int  # the organic posts wanted before the next ad (0: not drawn yet)
    position_offset: int  # the feed position of posts[0]
    request_id: str
    country: str = ""  # ISO 3166-1 alpha-2, upper case, when known
    language: str = ""  # primary language subtag
    device: str = ""  # ios | android | web
    region: str = ""  # ISO 3166-2 ("US-CA"), from the CDN's geolocation, when known
    # The page's one flag evaluation (the ranker's flags were read from it): a filler reads
    # its flags here, so a page evaluates the viewer's arms, sticky assignments and
    # exposures once. None: the filler evaluates for `user`/`session_id` itself.
    flags: Evaluation | None = None


@dataclass(frozen=True)
class AdSlotAnswer:
    ads: tuple[tuple[int, dict[str, Any]], ...]  # (insert before posts[i], the API item)
    since_last_ad: int
    gap: int


class FillAdSlots(Protocol):
    def __call__(self, *, request: AdSlotRequest) -> AdSlotAnswer | None: ...


ad_slots: Hook[FillAdSlots] = Hook("feed.ad_slots")


def fill_ad_slots(request: AdSlotRequest) -> AdSlotAnswer | None:
    """The first registered filler's answer; None when none is registered or it failed."""
    for fill in ad_slots:
        try:
            answer = fill(request=request)
        except Exception:  # ads must never take the feed down
            logger.exception("ad slots failed; the page is served without ads")
            return None
        if answer is not None:
            return answer
    return None
