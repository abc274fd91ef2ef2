from django.urls import URLPattern, URLResolver, path

from apps.analytics.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("me/analytics", views.MyAnalyticsApi.as_view(), name="me-analytics"),
    path("posts/<str:post_id>/analytics", views.PostAnalyticsApi.as_view(),
         name="post-analytics"),
]
