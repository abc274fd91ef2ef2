from django.urls import URLPattern, URLResolver, path

from apps.feed.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("feed/for-you", views.ForYouApi.as_view(), name="feed-for-you"),
    path("feed/following", views.FollowingApi.as_view(), name="feed-following"),
    path("feed/interests", views.TopicsApi.as_view(), name="feed-interests"),
    path("me/interests", views.MyInterestsApi.as_view(), name="me-interests"),
    path("posts/<str:post_id>/not-interested", views.NotInterestedApi.as_view(),
         name="post-not-interested"),
]
