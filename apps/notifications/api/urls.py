from django.urls import URLPattern, URLResolver, path

from apps.notifications.api import push

urlpatterns: list[URLPattern | URLResolver] = [
    # push delivery: Web Push subscriptions and the server's VAPID key
    path("notifications/webpush/subscriptions", push.WebPushSubscriptionsApi.as_view(),
         name="notifications-webpush-subscriptions"),
    path("notifications/webpush/vapid-public-key", push.VapidPublicKeyApi.as_view(),
         name="notifications-webpush-vapid-key"),
]
