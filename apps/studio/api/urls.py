from django.urls import URLPattern, URLResolver, path

from apps.studio.api import derived_views, views

urlpatterns: list[URLPattern | URLResolver] = [
    path("studio/options", views.OptionsApi.as_view(), name="studio-options"),
    path("studio/validate", views.ValidateApi.as_view(), name="studio-validate"),
    path("studio/edits", views.EditsApi.as_view(), name="studio-edits"),
    path("studio/edits/<str:edit_id>", views.EditDetailApi.as_view(), name="studio-edit"),
    path("studio/edits/<str:edit_id>/render", views.EditRenderApi.as_view(),
         name="studio-edit-render"),
    path("studio/originals/<str:post_id>", derived_views.OriginalApi.as_view(),
         name="studio-original"),
    path("studio/previews", views.PreviewsApi.as_view(), name="studio-previews"),
    path("studio/previews/<str:preview_id>", views.PreviewDetailApi.as_view(),
         name="studio-preview"),
    path("studio/previews/<str:preview_id>/file", views.PreviewFileApi.as_view(),
         name="studio-preview-file"),
]
