"""Websocket routes. Each app that has consumers adds its patterns here."""

from django.urls import path

from apps.core.consumers import PingConsumer
from apps.live.chat.consumer import LiveChatConsumer
from apps.media.consumers import AssetProgressConsumer
from apps.messaging.consumers import MessagesConsumer
from apps.notifications.consumers import NotificationConsumer

websocket_urlpatterns = [
    path("ws/ping/", PingConsumer.as_asgi()),
    path("ws/media/assets/<int:asset_id>/", AssetProgressConsumer.as_asgi()),
    path("ws/notifications/", NotificationConsumer.as_asgi()),
    path("ws/messages/", MessagesConsumer.as_asgi()),
    path("ws/live/<str:live_id>/", LiveChatConsumer.as_asgi()),
]
