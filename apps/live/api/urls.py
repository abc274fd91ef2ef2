from django.urls import URLPattern, URLResolver, include, path

from apps.live.api import views

L = "live/<str:live_id>"

urlpatterns: list[URLPattern | URLResolver] = [
    path("live", views.LivesApi.as_view(), name="lives"),
    path("live/eligibility", views.EligibilityApi.as_view(), name="live-eligibility"),
    path("live/key", views.KeyApi.as_view(), name="live-key"),
    path(L, views.LiveApi.as_view(), name="live"),
    path(f"{L}/end", views.LiveEndApi.as_view(), name="live-end"),
    path(f"{L}/replay", views.LiveReplayApi.as_view(), name="live-replay"),
    path(f"{L}/stats", views.LiveStatsApi.as_view(), name="live-stats"),
    path("", include("apps.live.api.chat_urls")),
    path("", include("apps.live.api.safety")),  # reports (H6)
]
