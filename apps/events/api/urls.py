from django.urls import URLPattern, URLResolver, path

from apps.events.api.views import EventsApi

urlpatterns: list[URLPattern | URLResolver] = [
    path("events", EventsApi.as_view(), name="events"),
]
