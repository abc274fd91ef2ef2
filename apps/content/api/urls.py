from django.urls import URLPattern, URLResolver, path

from apps.content.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("posts", views.PostCreateApi.as_view(), name="posts"),
    path("posts/<str:post_id>", views.PostDetailApi.as_view(), name="post-detail"),
    path("posts/<str:post_id>/pin", views.PostPinApi.as_view(), name="post-pin"),
    path("posts/<str:post_id>/branded", views.PostBrandedApi.as_view(), name="post-branded"),
    path("users/<str:username>/posts", views.UserPostsApi.as_view(), name="user-posts"),
    path("hashtags/<str:name>", views.HashtagApi.as_view(), name="hashtag"),
    path("hashtags/<str:name>/posts", views.HashtagPostsApi.as_view(), name="hashtag-posts"),
    path("sounds/<str:sound_id>", views.SoundApi.as_view(), name="sound"),
    path("sounds/<str:sound_id>/posts", views.SoundPostsApi.as_view(), name="sound-posts"),
]
