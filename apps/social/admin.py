from __future__ import annotations

from typing import Any

from django.contrib import admin

from apps.core.admin import AuditedModelAdmin
from apps.social.models import Block, Follow, FollowRequest, Mute, UserEdge


def register_edge_admin(model: type[UserEdge], **options: Any) -> None:
    """An edge between two people in the admin: both ends by raw id, searchable by exact
    username, no COUNT(*) over a big table on every page."""
    ends = (model.source_field, model.target_field)
    attrs: dict[str, Any] = {
        "list_display": ("id", *ends, "created_at"),
        "list_select_related": ends,
        "search_fields": tuple(f"={end}__username" for end in ends),
        "list_filter": ("created_at",),
        "raw_id_fields": ends,
        "readonly_fields": ("created_at",),
        "show_full_result_count": False,
        **options,
    }
    admin.site.register(model, type(f"{model.__name__}Admin", (AuditedModelAdmin,), attrs))


register_edge_admin(Follow, list_filter=("created_at", "followee__is_private"),
                    date_hierarchy="created_at")
register_edge_admin(FollowRequest)
register_edge_admin(Block)
register_edge_admin(Mute)
