"""The ads app's non-API URLs, under /ads/ before the portal's (apps.adsportal.urls)."""

from django.urls import URLPattern, URLResolver, path

from apps.ads import views

app_name = "ads"
urlpatterns: list[URLPattern | URLResolver] = [
    path("c/<str:token>", views.click, name="click"),
    path("px", views.pixel, name="pixel"),
]
