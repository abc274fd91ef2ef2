from django.urls import path

from apps.accounts.api import views

urlpatterns = [
    path("me", views.MeApi.as_view(), name="me"),
    path("me/username", views.UsernameApi.as_view(), name="me-username"),
    path("me/avatar", views.AvatarApi.as_view(), name="me-avatar"),
    path("me/sessions", views.SessionListApi.as_view(), name="me-sessions"),
    path("me/sessions/revoke-all", views.SessionRevokeAllApi.as_view(),
         name="me-sessions-revoke-all"),
    path("me/sessions/<int:session_id>", views.SessionDetailApi.as_view(),
         name="me-session-detail"),
    path("me/devices", views.DeviceListApi.as_view(), name="me-devices"),
    path("me/devices/<int:device_id>", views.DeviceDetailApi.as_view(), name="me-device-detail"),
    path("me/deactivate", views.DeactivateApi.as_view(), name="me-deactivate"),
    path("me/delete", views.DeleteApi.as_view(), name="me-delete"),
    path("me/delete/cancel", views.DeleteCancelApi.as_view(), name="me-delete-cancel"),
    path("me/delete/notices", views.DeleteNoticesApi.as_view(), name="me-delete-notices"),
    path("me/exports", views.DataExportCreateApi.as_view(), name="me-exports"),
    path("me/exports/<int:export_id>", views.DataExportDetailApi.as_view(),
         name="me-export-detail"),
]
