from __future__ import annotations

from django.contrib import admin

from apps.core.admin import AuditedModelAdmin, ViewOnlyAdmin
from apps.engagement.models import Collection, Favourite, Like, Share


@admin.register(Like)
class LikeAdmin(ViewOnlyAdmin):
    list_display = ("id", "user", "post", "created_at")
    list_select_related = ("user", "post")
    search_fields = ("=user__username", "=post__id")
    list_filter = ("created_at",)
    raw_id_fields = ("user", "post")
    readonly_fields = ("created_at",)
    show_full_result_count = False


@admin.register(Collection)
class CollectionAdmin(AuditedModelAdmin):
    list_display = ("id", "name", "owner", "created_at")
    list_select_related = ("owner",)
    search_fields = ("=owner__username", "name")
    list_filter = ("created_at",)
    raw_id_fields = ("owner",)
    readonly_fields = ("created_at", "updated_at")
    show_full_result_count = False


@admin.register(Favourite)
class FavouriteAdmin(ViewOnlyAdmin):
    list_display = ("id", "user", "post", "collection", "created_at")
    list_select_related = ("user", "post", "collection")
    search_fields = ("=user__username", "=post__id")
    list_filter = ("created_at",)
    raw_id_fields = ("user", "post", "collection")
    readonly_fields = ("created_at",)
    show_full_result_count = False


@admin.register(Share)
class ShareAdmin(ViewOnlyAdmin):
    list_display = ("id", "user", "post", "channel", "created_at")
    list_select_related = ("user", "post")
    search_fields = ("=user__username", "=post__id")
    list_filter = ("channel", "created_at")
    raw_id_fields = ("user", "post")
    readonly_fields = ("created_at",)
    show_full_result_count = False
