"""The monetization app's models, one module per use area: coins (packs, purchases),
gifts and tips, subscriptions, payouts (KYC, tax forms, payout requests) and fraud
(risk reviews)."""

from apps.monetization.models.clearing import EarningsClearing
from apps.monetization.models.coins import CoinPack, CoinPurchase, SpendingBar
from apps.monetization.models.fraud import AccountChange, RiskReview
from apps.monetization.models.gifts import (
    Clawback,
    Gift,
    GiftSend,
    RevenueShare,
)
from apps.monetization.models.payouts import (
    KycDocument,
    KycProfile,
    PayoutRequest,
    TaxForm,
)
from apps.monetization.models.subscriptions import (
    Subscription,
    SubscriptionCharge,
    SubscriptionTier,
)

# Re-exported (mypy's no-implicit-reexport): one name per model above.
__all__ = [
    "AccountChange",
    "Clawback",
    "CoinPack",
    "CoinPurchase",
    "EarningsClearing",
    "Gift",
    "GiftSend",
    "KycDocument",
    "KycProfile",
    "PayoutRequest",
    "RevenueShare",
    "RiskReview",
    "SpendingBar",
    "Subscription",
    "SubscriptionCharge",
    "SubscriptionTier",
    "TaxForm",
]
