from __future__ import annotations

from typing import Any, ClassVar, Literal

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.content import services
from apps.content.hooks import content_changed
from apps.content.models import Hashtag, Mention, Post, PostHashtag, Sound
from apps.core.admin import AuditedModelAdmin, ReasonActionForm, action_reason
from apps.core.audit import request_ip


class PostHashtagInline(admin.TabularInline):  # type: ignore[type-arg]
    model = PostHashtag
    raw_id_fields = ("hashtag",)
    extra = 0


class _ChangedAdmin(AuditedModelAdmin):
    """Staff writes here bypass the services: they announce the change the same way
    (`content.hooks.content_changed`, e.g. search indexes the row again)."""

    changed_kind: ClassVar[Literal["post", "sound", "hashtag"]]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        content_changed(kind=self.changed_kind, ids=[obj.pk])

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        content_changed(kind=self.changed_kind, ids=[obj.pk])
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        content_changed(kind=self.changed_kind, ids=list(queryset.values_list("pk", flat=True)))
        super().delete_queryset(request, queryset)


@admin.register(Post)
class PostAdmin(_ChangedAdmin):
    changed_kind = "post"
    list_display = ("id", "author", "status", "visibility", "published_at", "likes_count",
                    "comments_count", "created_at")
    list_select_related = ("author",)
    list_filter = ("status", "visibility", "comment_policy", "created_at")
    search_fields = ("caption", "=author__username")
    raw_id_fields = ("author", "asset", "sound", "original_sound")
    readonly_fields = ("caption_entities", "likes_count", "comments_count", "shares_count",
                       "views_count", "favourites_count", "published_at", "created_at",
                       "updated_at")
    inlines = (PostHashtagInline,)
    date_hierarchy = "created_at"
    show_full_result_count = False
    action_form = ReasonActionForm
    actions = ["label_branded"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # the paid-partnership label moves only through services.branding (the action below)
        return (*self.readonly_fields, "branded_partner", "branded_source", "branded_category")

    @admin.action(description="Add the “Paid partnership” label (the reason box: the brand's "
                              "name) — undisclosed paid promotion")
    def label_branded(self, request: HttpRequest, queryset: QuerySet[Post]) -> None:
        from django.contrib import messages
        from django.db import transaction

        from apps.content.services.branding import SOURCE_MODERATOR, post_set_branded
        from apps.core.audit import record_audit
        from apps.core.errors import ApplicationError

        partner = action_reason(request)
        if not partner:
            self.message_user(request, "Write the brand's name in the reason box: it is what "
                              "viewers read after “Paid partnership with @”.", messages.ERROR)
            return
        for post in queryset.order_by("pk"):
            try:
                with transaction.atomic():
                    labelled = post_set_branded(post_id=post.pk, partner=partner,
                                                source=SOURCE_MODERATOR)
                    record_audit(actor=request.user, action="content.post_label_branded",
                                 target=labelled, reason=partner, ip=request_ip(request))
            except ApplicationError as exc:
                self.message_user(request, f"Post {post.pk}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"Post {post.pk} is labelled “Paid partnership "
                                  f"with @{labelled.branded_partner}”.", messages.SUCCESS)


@admin.register(Hashtag)
class HashtagAdmin(_ChangedAdmin):
    changed_kind = "hashtag"
    list_display = ("id", "name", "posts_count", "created_at")
    search_fields = ("name",)
    readonly_fields = ("posts_count", "created_at")
    ordering = ("-posts_count",)
    show_full_result_count = False


@admin.register(Mention)
class MentionAdmin(AuditedModelAdmin):
    list_display = ("id", "post", "user", "created_at")
    raw_id_fields = ("post", "user")
    search_fields = ("=user__username",)
    show_full_result_count = False


@admin.register(Sound)
class SoundAdmin(_ChangedAdmin):
    """The licensed library is managed here; original sounds are created with posts. Every
    change (a take-down by the form or the actions too) is in the audit trail."""

    list_display = ("id", "title", "artist", "kind", "rights_holder", "territories",
                    "licence_expires_at", "is_taken_down", "muted_at", "posts_count")
    list_filter = ("kind", "is_taken_down", "licence_expires_at", "muted_at")
    search_fields = ("title", "artist", "rights_holder", "=original_owner__username")
    raw_id_fields = ("original_owner", "source_asset")
    readonly_fields = ("posts_count", "muted_at", "created_at", "updated_at")
    actions = ("take_down", "restore")
    action_form = ReasonActionForm
    show_full_result_count = False
    changed_kind = "sound"

    def save_model(self, request: HttpRequest, obj: Sound, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.sounds_sync_muted()  # a take-down or a changed expiry shows at once

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, str | list[str]]:
        return {"kind": Sound.Kind.LIBRARY}

    @admin.action(description="Take down (muted wherever it plays)")
    def take_down(self, request: HttpRequest, queryset: QuerySet[Sound]) -> None:
        count = services.sounds_take_down(sound_ids=queryset.values_list("pk", flat=True),
                                          actor=request.user, reason=action_reason(request),
                                          ip=request_ip(request))
        self.message_user(request, f"Took down {count} sound(s).")

    @admin.action(description="Restore (undo take-down)")
    def restore(self, request: HttpRequest, queryset: QuerySet[Sound]) -> None:
        count = services.sounds_take_down(sound_ids=queryset.values_list("pk", flat=True),
                                          taken_down=False, actor=request.user,
                                          reason=action_reason(request),
                                          ip=request_ip(request))
        self.message_user(request, f"Restored {count} sound(s).")
