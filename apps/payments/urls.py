"""The local test provider's pages (not the API): its 3-D Secure-like approval page."""

from django.urls import URLPattern, URLResolver, path

from apps.payments import local_views

app_name = "payments"
urlpatterns: list[URLPattern | URLResolver] = [
    path("local/approve/<str:ref>/", local_views.approve, name="local-approve"),
]
