"""The ads app's models, one module per area: orgs (advertisers, members), campaigns
(campaigns, ad groups, ads), audiences (custom audiences, lookalikes), interests (the topics
of what a user watches), review (rules staff
edit), and delivery / measurement (their own modules)."""

from apps.ads.models.audiences import AudienceMember, CustomAudience, Lookalike, LookalikeMember
from apps.ads.models.campaigns import Ad, AdGroup, Campaign, InventoryTier, RestrictedCategory
from apps.ads.models.delivery import AdPredictor, DeliverySettings
from apps.ads.models.funding import Topup
from apps.ads.models.interests import WatchedTopics
from apps.ads.models.measurement import (
    AdConversion,
    AdDailyStats,
    AdEvent,
    ConversionApiKey,
    SpendPosting,
)
from apps.ads.models.orgs import AdvertiserOrg, Membership
from apps.ads.models.review import BlockedDomain

# Re-exported (mypy's no-implicit-reexport): one name per model above.
__all__ = [
    "Ad",
    "AdConversion",
    "AdDailyStats",
    "AdEvent",
    "AdGroup",
    "AdPredictor",
    "AdvertiserOrg",
    "AudienceMember",
    "BlockedDomain",
    "Campaign",
    "ConversionApiKey",
    "CustomAudience",
    "DeliverySettings",
    "InventoryTier",
    "Lookalike",
    "LookalikeMember",
    "Membership",
    "RestrictedCategory",
    "SpendPosting",
    "Topup",
    "WatchedTopics",
]
