from django.urls import URLPattern, URLResolver, path

from apps.notifications.api import notices, push, views

urlpatterns: list[URLPattern | URLResolver] = [
    # the inbox (apps.notifications.api.views)
    path("notifications", views.NotificationListApi.as_view(), name="notifications"),
    path("notifications/unread_count", views.UnreadCountApi.as_view(),
         name="notifications-unread-count"),
    path("notifications/read_all", views.MarkAllReadApi.as_view(),
         name="notifications-read-all"),
    path("notifications/preferences", views.PreferencesApi.as_view(),
         name="notifications-preferences"),
    path("notifications/creators/<str:username>", views.CreatorPostsApi.as_view(),
         name="notifications-creator-posts"),
    path("notifications/<str:notification_id>/read", views.MarkReadApi.as_view(),
         name="notifications-read"),
    path("notifications/<str:notification_id>/follow_request",
         views.FollowRequestAnswerApi.as_view(), name="notifications-follow-request"),
    # moderation's notices as they were listed before the inbox (deprecated; api.notices)
    path("me/notices", notices.MyNoticesApi.as_view(), name="me-notices"),
    path("me/notices/read", notices.NoticesReadApi.as_view(), name="me-notices-read"),
    # push delivery: Web Push subscriptions and the server's VAPID key
    path("notifications/webpush/subscriptions", push.WebPushSubscriptionsApi.as_view(),
         name="notifications-webpush-subscriptions"),
    path("notifications/webpush/vapid-public-key", push.VapidPublicKeyApi.as_view(),
         name="notifications-webpush-vapid-key"),
]
