"""Read-only views of the aggregates for staff (the consumer is their only writer)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from apps.analytics.models import CreatorDailyStats, PostHourlyStats, UserPostStats


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(UserPostStats)
class UserPostStatsAdmin(ReadOnlyAdmin):
    list_display = ("user_id", "post_id", "impressions", "plays", "watch_ms", "max_completion",
                    "completed", "skipped", "liked", "not_interested", "last_event_at")
    search_fields = ("=user_id", "=post_id")
    list_filter = ("completed", "not_interested")


@admin.register(PostHourlyStats)
class PostHourlyStatsAdmin(ReadOnlyAdmin):
    list_display = ("post_id", "hour", "impressions", "plays", "watch_ms", "completions",
                    "skips", "likes", "shares", "ttff_count", "rebuffer_count")
    search_fields = ("=post_id",)
    date_hierarchy = "hour"


@admin.register(CreatorDailyStats)
class CreatorDailyStatsAdmin(ReadOnlyAdmin):
    list_display = ("creator_id", "day", "impressions", "views", "watch_ms", "completions",
                    "likes", "followers_gained")
    search_fields = ("=creator_id",)
    date_hierarchy = "day"


from apps.analytics.qoe import admin as qoe_admin  # noqa: E402,F401 - registers the QoE page
