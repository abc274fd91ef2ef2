from django.urls import path

from apps.comments.api import views

urlpatterns = [
    path("posts/<str:post_id>/comments", views.PostCommentsApi.as_view(), name="post-comments"),
    path("comments/<str:comment_id>", views.CommentApi.as_view(), name="comment"),
    path("comments/<str:comment_id>/replies", views.CommentRepliesApi.as_view(),
         name="comment-replies"),
    path("comments/<str:comment_id>/like", views.CommentLikeApi.as_view(), name="comment-like"),
    path("comments/<str:comment_id>/pin", views.CommentPinApi.as_view(), name="comment-pin"),
    path("comments/<str:comment_id>/hide", views.CommentHideApi.as_view(), name="comment-hide"),
    path("comments/<str:comment_id>/approve", views.CommentApproveApi.as_view(),
         name="comment-approve"),
    path("comments/<str:comment_id>/reject", views.CommentRejectApi.as_view(),
         name="comment-reject"),
    path("me/held-comments", views.HeldCommentsApi.as_view(), name="me-held-comments"),
    path("me/comment-filters", views.CommentFilterListApi.as_view(), name="me-comment-filters"),
    path("me/comment-filters/<str:filter_id>", views.CommentFilterApi.as_view(),
         name="me-comment-filter"),
    path("me/commenter-bans", views.CommenterBanListApi.as_view(), name="me-commenter-bans"),
    path("me/commenter-bans/<str:username>", views.CommenterBanApi.as_view(),
         name="me-commenter-ban"),
]
