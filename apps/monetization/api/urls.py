from django.urls import URLPattern, URLResolver, path

from apps.monetization.api import coins, payouts, subscriptions

urlpatterns: list[URLPattern | URLResolver] = [
    # coins, gifts and tips (api/coins.py)
    path("coins/wallet", coins.WalletApi.as_view(), name="coins-wallet"),
    path("coins/packs", coins.PacksApi.as_view(), name="coins-packs"),
    path("coins/purchases", coins.PurchasesApi.as_view(), name="coins-purchases"),
    path("coins/purchases/<str:purchase_id>", coins.PurchaseApi.as_view(),
         name="coins-purchase"),
    path("coins/history", coins.HistoryApi.as_view(), name="coins-history"),
    path("gifts", coins.GiftsApi.as_view(), name="gifts"),
    path("posts/<str:post_id>/gifts", coins.PostGiftApi.as_view(), name="post-gifts"),
    path("posts/<str:post_id>/tips", coins.PostTipApi.as_view(), name="post-tips"),
    path("users/<str:username>/tips", coins.ProfileTipApi.as_view(), name="user-tips"),
    # subscriptions (api/subscriptions.py)
    path("users/<str:username>/subscription-tiers", subscriptions.CreatorTiersApi.as_view(),
         name="user-subscription-tiers"),
    path("me/subscription-tiers", subscriptions.MyTiersApi.as_view(),
         name="my-subscription-tiers"),
    path("me/subscription-tiers/<str:tier_id>", subscriptions.MyTierApi.as_view(),
         name="my-subscription-tier"),
    path("subscriptions", subscriptions.SubscriptionsApi.as_view(), name="subscriptions"),
    path("subscriptions/<str:subscription_id>", subscriptions.SubscriptionApi.as_view(),
         name="subscription"),
    path("subscriptions/<str:subscription_id>/cancel",
         subscriptions.SubscriptionCancelApi.as_view(), name="subscription-cancel"),
    path("subscriptions/<str:subscription_id>/resume",
         subscriptions.SubscriptionResumeApi.as_view(), name="subscription-resume"),
    # earnings, payouts, KYC and tax forms (api/payouts.py)
    path("me/earnings", payouts.EarningsApi.as_view(), name="my-earnings"),
    path("me/payouts", payouts.PayoutsApi.as_view(), name="my-payouts"),
    path("me/payouts/status", payouts.PayoutStatusApi.as_view(), name="my-payouts-status"),
    path("me/payouts/<str:payout_id>", payouts.PayoutApi.as_view(), name="my-payout"),
    path("me/kyc/documents", payouts.KycDocumentsApi.as_view(), name="my-kyc-documents"),
    path("me/kyc/documents/<str:document_id>", payouts.KycDocumentApi.as_view(),
         name="my-kyc-document"),
    path("me/kyc/submit", payouts.KycSubmitApi.as_view(), name="my-kyc-submit"),
    path("me/tax-form", payouts.TaxFormApi.as_view(), name="my-tax-form"),
]
