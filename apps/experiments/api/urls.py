from django.urls import URLPattern, URLResolver, path

from apps.experiments.api.views import ExposuresApi, FlagsApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("flags", FlagsApi.as_view(), name="flags"),
    path("flags/exposures", ExposuresApi.as_view(), name="flags-exposures"),
]
