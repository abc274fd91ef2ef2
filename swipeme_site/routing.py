"""Websocket routes. Each app that has consumers adds its patterns here."""

from django.urls import path

from apps.core.consumers import PingConsumer
from apps.media.consumers import AssetProgressConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/media/assets/<int:asset_id>/", AssetProgressConsumer.as_asgi()),
]
