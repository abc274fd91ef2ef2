"""Moderators' pages, mounted at /moderation/ (staff only)."""

from django.urls import URLPattern, URLResolver, path

from apps.moderation import views

app_name = "moderation"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.queues, name="queues"),
    path("next", views.next_case, name="next"),
    path("cases/<int:case_id>/", views.case_review, name="case"),
    path("cases/<int:case_id>/claim", views.case_claim, name="claim"),
    path("cases/<int:case_id>/release", views.case_release, name="release"),
    path("cases/<int:case_id>/decide", views.case_decide, name="decide"),
    path("cases/<int:case_id>/frames/<int:number>.jpg", views.case_frame, name="frame"),
    path("cases/<int:case_id>/live-frames/<int:evidence_id>.jpg", views.case_live_frame,
         name="live-frame"),
    path("cases/<int:case_id>/live/<path:path>", views.case_live_file, name="live-file"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("transparency.csv", views.transparency_csv, name="transparency"),
    path("appeal/<str:token>/", views.appeal_by_link, name="appeal-by-link"),
]
