from __future__ import annotations

from django.contrib import admin

from apps.comments.models import Comment, CommenterBan, CommentFilter, CommentLike
from apps.core.admin import AuditedModelAdmin, ViewOnlyAdmin


@admin.register(Comment)
class CommentAdmin(AuditedModelAdmin):
    list_display = ("id", "author", "post", "parent_id", "status", "is_pinned", "likes_count",
                    "replies_count", "created_at")
    list_select_related = ("author", "post")
    search_fields = ("=author__username", "=post__id", "text")
    list_filter = ("status", "is_pinned", "liked_by_creator", "created_at")
    raw_id_fields = ("author", "post", "parent", "reply_to_user")
    readonly_fields = ("created_at", "likes_count", "replies_count", "rank")
    show_full_result_count = False


@admin.register(CommentLike)
class CommentLikeAdmin(ViewOnlyAdmin):
    list_display = ("id", "user", "comment", "created_at")
    list_select_related = ("user", "comment")
    search_fields = ("=user__username", "=comment__id")
    list_filter = ("created_at",)
    raw_id_fields = ("user", "comment")
    show_full_result_count = False


@admin.register(CommentFilter)
class CommentFilterAdmin(AuditedModelAdmin):
    list_display = ("id", "creator", "keyword", "created_at")
    list_select_related = ("creator",)
    search_fields = ("=creator__username", "keyword")
    raw_id_fields = ("creator",)
    show_full_result_count = False


@admin.register(CommenterBan)
class CommenterBanAdmin(AuditedModelAdmin):
    list_display = ("id", "creator", "user", "created_at")
    list_select_related = ("creator", "user")
    search_fields = ("=creator__username", "=user__username")
    list_filter = ("created_at",)
    raw_id_fields = ("creator", "user")
    show_full_result_count = False
