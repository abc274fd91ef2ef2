from django.urls import path

from apps.core.api.views import PingApi

urlpatterns = [
    path("ping", PingApi.as_view(), name="ping"),
]
