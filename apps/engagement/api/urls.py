from django.urls import path

from apps.engagement.api import views

urlpatterns = [
    path("posts/<str:post_id>/engagement", views.PostEngagementApi.as_view(),
         name="post-engagement"),
    path("posts/<str:post_id>/like", views.LikeApi.as_view(), name="post-like"),
    path("posts/<str:post_id>/favourite", views.FavouriteApi.as_view(), name="post-favourite"),
    path("posts/<str:post_id>/share", views.ShareApi.as_view(), name="post-share"),
    path("posts/<str:post_id>/view", views.ViewApi.as_view(), name="post-view"),
    path("users/<str:username>/liked-posts", views.LikedPostsApi.as_view(),
         name="user-liked-posts"),
    path("me/favourites", views.FavouriteListApi.as_view(), name="me-favourites"),
    path("me/collections", views.CollectionListApi.as_view(), name="me-collections"),
    path("me/collections/<str:collection_id>", views.CollectionApi.as_view(),
         name="me-collection"),
    path("me/collections/<str:collection_id>/posts", views.CollectionPostsApi.as_view(),
         name="me-collection-posts"),
    path("me/engagement-settings", views.EngagementSettingsApi.as_view(),
         name="me-engagement-settings"),
]
