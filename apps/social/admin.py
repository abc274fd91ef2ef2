from __future__ import annotations

from django.contrib import admin

from apps.social.models import Block, Follow, FollowRequest, Mute


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "follower", "followee", "created_at")
    list_select_related = ("follower", "followee")
    search_fields = ("=follower__username", "=followee__username")
    list_filter = ("created_at", "followee__is_private")
    raw_id_fields = ("follower", "followee")
    readonly_fields = ("created_at",)
    date_hierarchy = "created_at"
    show_full_result_count = False  # no COUNT(*) over the biggest table on every page


@admin.register(FollowRequest)
class FollowRequestAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "requester", "target", "created_at")
    list_select_related = ("requester", "target")
    search_fields = ("=requester__username", "=target__username")
    list_filter = ("created_at",)
    raw_id_fields = ("requester", "target")
    readonly_fields = ("created_at",)
    show_full_result_count = False


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "blocker", "blocked", "created_at")
    list_select_related = ("blocker", "blocked")
    search_fields = ("=blocker__username", "=blocked__username")
    list_filter = ("created_at",)
    raw_id_fields = ("blocker", "blocked")
    readonly_fields = ("created_at",)
    show_full_result_count = False


@admin.register(Mute)
class MuteAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "muter", "muted", "created_at")
    list_select_related = ("muter", "muted")
    search_fields = ("=muter__username", "=muted__username")
    list_filter = ("created_at",)
    raw_id_fields = ("muter", "muted")
    readonly_fields = ("created_at",)
    show_full_result_count = False
