from django.urls import URLPattern, URLResolver, path

from apps.ads.api.adgroups import AdGroupApi, CampaignAdGroupsApi
from apps.ads.api.views import AdEventsApi, ConversionsApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("ads/events", AdEventsApi.as_view(), name="ads-events"),
    path("ads/conversions", ConversionsApi.as_view(), name="ads-conversions"),
    path(
        "ads/campaigns/<str:campaign_id>/adgroups",
        CampaignAdGroupsApi.as_view(),
        name="ads-campaign-adgroups",
    ),
    path("ads/adgroups/<str:group_id>", AdGroupApi.as_view(), name="ads-adgroup"),
]
