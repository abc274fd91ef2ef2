"""The live chat's routes (chat, likes, gifts, moderation); included by urls.py. The host's
moderators are named under `live/chat/` (a `live/<id>` route would take `live/moderators`)."""

from django.urls import URLPattern, URLResolver, path

from apps.live.api import chat_views as views

L = "live/<str:live_id>"

urlpatterns: list[URLPattern | URLResolver] = [
    path(f"{L}/chat", views.ChatApi.as_view(), name="live-chat"),
    path(f"{L}/chat/settings", views.ChatSettingsApi.as_view(), name="live-chat-settings"),
    path(f"{L}/chat/<str:message_id>", views.ChatMessageApi.as_view(), name="live-chat-message"),
    path(f"{L}/pin", views.PinApi.as_view(), name="live-pin"),
    path(f"{L}/mutes", views.MutesApi.as_view(), name="live-mutes"),
    path(f"{L}/mutes/<str:user_id>", views.MuteApi.as_view(), name="live-mute"),
    path(f"{L}/bans", views.BansApi.as_view(), name="live-bans"),
    path(f"{L}/bans/<str:user_id>", views.BanApi.as_view(), name="live-ban"),
    path(f"{L}/likes", views.LikesApi.as_view(), name="live-likes"),
    path(f"{L}/gifts", views.GiftsApi.as_view(), name="live-gifts"),
    path("live/chat/moderators", views.ModeratorsApi.as_view(), name="live-moderators"),
    path("live/chat/moderators/<str:user_id>", views.ModeratorApi.as_view(),
         name="live-moderator"),
]
