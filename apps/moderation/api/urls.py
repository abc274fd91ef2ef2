from django.urls import URLPattern, URLResolver, path

from apps.moderation.api import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("moderation/policies", views.PoliciesApi.as_view(), name="moderation-policies"),
    path("reports", views.ReportsApi.as_view(), name="reports"),
    path("me/reports", views.MyReportsApi.as_view(), name="me-reports"),
    path("appeals", views.AppealsApi.as_view(), name="appeals"),
]
