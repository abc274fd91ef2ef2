from django.urls import path

from apps.social.api import views

urlpatterns = [
    path("users/<str:username>", views.UserProfileApi.as_view(), name="user-profile"),
    path("users/<str:username>/follow", views.FollowApi.as_view(), name="user-follow"),
    path("users/<str:username>/followers", views.FollowersListApi.as_view(),
         name="user-followers"),
    path("users/<str:username>/following", views.FollowingListApi.as_view(),
         name="user-following"),
    path("users/<str:username>/friends", views.FriendsListApi.as_view(), name="user-friends"),
    path("users/<str:username>/block", views.BlockApi.as_view(), name="user-block"),
    path("users/<str:username>/mute", views.MuteApi.as_view(), name="user-mute"),
    path("me/follow-requests", views.FollowRequestListApi.as_view(), name="me-follow-requests"),
    path("me/follow-requests/approve-all", views.FollowRequestApproveAllApi.as_view(),
         name="me-follow-requests-approve-all"),
    path("me/follow-requests/<str:request_id>/approve", views.FollowRequestApproveApi.as_view(),
         name="me-follow-request-approve"),
    path("me/follow-requests/<str:request_id>/deny", views.FollowRequestDenyApi.as_view(),
         name="me-follow-request-deny"),
    path("me/followers/<str:username>", views.FollowerRemoveApi.as_view(),
         name="me-follower-remove"),
    path("me/blocks", views.BlockListApi.as_view(), name="me-blocks"),
    path("me/mutes", views.MuteListApi.as_view(), name="me-mutes"),
]
