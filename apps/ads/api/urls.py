from django.urls import URLPattern, URLResolver, path

from apps.ads.api.views import AdEventsApi, ConversionsApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("ads/events", AdEventsApi.as_view(), name="ads-events"),
    path("ads/conversions", ConversionsApi.as_view(), name="ads-conversions"),
]
