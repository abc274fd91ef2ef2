from django.urls import URLPattern, URLResolver, path

from apps.messaging.api import reports, views

C = "conversations/<str:conversation_id>"
M = f"{C}/messages/<str:message_id>"

urlpatterns: list[URLPattern | URLResolver] = [
    path("conversations", views.ConversationListApi.as_view(), name="conversations"),
    path(C, views.ConversationDetailApi.as_view(), name="conversation"),
    path(f"{C}/members", views.MembersApi.as_view(), name="conversation-members"),
    path(f"{C}/members/<str:user_id>", views.MemberApi.as_view(), name="conversation-member"),
    path(f"{C}/messages", views.MessagesApi.as_view(), name="conversation-messages"),
    path(M, views.MessageApi.as_view(), name="conversation-message"),
    path(f"{M}/hide", views.MessageHideApi.as_view(), name="conversation-message-hide"),
    path(f"{M}/reaction", views.ReactionApi.as_view(), name="conversation-message-reaction"),
    path(f"{C}/read", views.ReadApi.as_view(), name="conversation-read"),
    path(f"{C}/accept", views.AcceptApi.as_view(), name="conversation-accept"),
    path(f"{C}/decline", views.DeclineApi.as_view(), name="conversation-decline"),
    path(f"{C}/leave", views.LeaveApi.as_view(), name="conversation-leave"),
    path(f"{C}/clear", views.ClearApi.as_view(), name="conversation-clear"),
    path(f"{C}/mute", views.MuteApi.as_view(), name="conversation-mute"),
    path(f"{C}/pin", views.PinApi.as_view(), name="conversation-pin"),
    path(f"{C}/archive", views.ArchiveApi.as_view(), name="conversation-archive"),
    path(f"{C}/report", reports.ConversationReportApi.as_view(), name="conversation-report"),
    path("me/messaging-settings", views.SettingsApi.as_view(), name="messaging-settings"),
    path("messaging/unread", views.UnreadApi.as_view(), name="messaging-unread"),
]
