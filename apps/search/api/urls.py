from django.urls import URLPattern, URLResolver, path

from apps.search.api import discovery_views as discovery
from apps.search.api.views import SearchApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("search", SearchApi.as_view(), name="search"),
    path("search/history", discovery.HistoryApi.as_view(), name="search-history"),
    path("search/history/<str:history_id>", discovery.HistoryEntryApi.as_view(),
         name="search-history-entry"),
    path("search/suggestions", discovery.SuggestionsApi.as_view(), name="search-suggestions"),
    path("search/trending", discovery.TrendingApi.as_view(), name="search-trending"),
    path("discover", discovery.DiscoverApi.as_view(), name="discover"),
]
