"""The monetization app's models, one module per use area: coins (packs, purchases),
gifts and tips, subscriptions, payouts (KYC, tax forms, payout requests) and fraud
(risk reviews)."""

from apps.monetization.models.coins import CoinPack, CoinPurchase, SpendingBar  # noqa: F401
from apps.monetization.models.gifts import (  # noqa: F401
    Clawback,
    Gift,
    GiftSend,
    RevenueShare,
)
from apps.monetization.models.payouts import (  # noqa: F401
    KycDocument,
    KycProfile,
    PayoutRequest,
    TaxForm,
)
from apps.monetization.models.fraud import AccountChange, RiskReview  # noqa: F401
from apps.monetization.models.subscriptions import (  # noqa: F401
    Subscription,
    SubscriptionCharge,
    SubscriptionTier,
)
