from django.urls import URLPattern, URLResolver, path

from apps.monetization.api import coins, subscriptions

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
]
