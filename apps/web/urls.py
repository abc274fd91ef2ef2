from django.urls import path

from apps.web import (
    views,
    views_discover,
    views_notices,
    views_pages,
    views_profile,
    views_search,
    views_settings,
    views_suggest,
    views_upload,
)

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("following", views.following, name="feed-following"),
    # --- the rest of the site (upload, profiles, pages, settings) ---
    path("upload", views_upload.upload, name="upload"),
    path("@<str:username>", views_profile.profile, name="profile"),
    path("@<str:username>/liked", views_profile.liked, name="liked"),
    path("@<str:username>/drafts", views_profile.drafts, name="drafts"),
    path("@<str:username>/followers", views_profile.followers, name="followers"),
    path("@<str:username>/following", views_profile.following, name="following"),
    path("@<str:username>/video/<str:post_id>", views_pages.post_permalink, name="post"),
    path("p/<str:post_id>/", views_pages.share_landing, name="share"),
    path("follow-requests", views_profile.follow_requests, name="follow-requests"),
    path("notices", views_notices.notices, name="notices"),
    path("discover", views_discover.discover, name="discover"),
    path("search", views_search.search, name="search"),
    path("tag/<str:name>", views_pages.hashtag, name="hashtag"),
    path("sound/<str:sound_id>", views_pages.sound, name="sound"),
    path("settings/", views_settings.index, name="settings"),
    path("settings/account", views_settings.account, name="settings-account"),
    path("settings/avatar", views_settings.avatar, name="settings-avatar"),
    path("settings/privacy", views_settings.privacy, name="settings-privacy"),
    path("settings/sessions", views_settings.sessions, name="settings-sessions"),
    path("settings/blocked", views_settings.blocked, name="settings-blocked"),
    path("settings/username", views_settings.username, name="settings-username"),
    path("settings/data", views_settings.data, name="settings-data"),
    path("settings/data/export", views_settings.export, name="settings-export"),
    path("settings/deactivate", views_settings.deactivate, name="settings-deactivate"),
    path("settings/delete", views_settings.delete, name="settings-delete"),
    path("web/suggest/hashtags", views_suggest.HashtagSuggestApi.as_view(),
         name="suggest-hashtags"),
    path("web/suggest/users", views_suggest.UserSuggestApi.as_view(), name="suggest-users"),
]
