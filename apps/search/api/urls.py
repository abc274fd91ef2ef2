from django.urls import URLPattern, URLResolver, path

from apps.search.api.views import SearchApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("search", SearchApi.as_view(), name="search"),
]
