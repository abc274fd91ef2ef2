from django.urls import URLPattern, URLResolver, path

from apps.marketplace.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("marketplace/me", views.MeApi.as_view(), name="marketplace-me"),
    path("marketplace/deals", views.DealsApi.as_view(), name="marketplace-deals"),
    path("marketplace/deals/<str:deal_id>", views.DealApi.as_view(), name="marketplace-deal"),
    path(
        "marketplace/deals/<str:deal_id>/<str:step>",
        views.DealStepApi.as_view(),
        name="marketplace-deal-step",
    ),
]
