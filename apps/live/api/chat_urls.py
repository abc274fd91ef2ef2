"""The live chat's routes (H4: chat, likes, gifts, moderation); included by urls.py."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
