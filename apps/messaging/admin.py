"""Direct messages in the admin: structure only. Staff see who is in which conversation,
its kind and size, and people's messaging settings, never what anyone wrote: message
contents reach staff only as the evidence of a report (moderation's case, issue 15's
safety rule), so there is no Message admin and nothing here can be edited."""

from __future__ import annotations

from django.contrib import admin

from apps.messaging.models import Conversation, MessagingSettings, Participant
from apps.moderation.admin import ReadOnlyAdmin


class ParticipantInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Participant
    fields = ("user", "role", "state", "accepted_at", "joined_at", "left_at")
    readonly_fields = fields
    extra = max_num = 0
    can_delete = False
    show_change_link = False


@admin.register(Conversation)
class ConversationAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "name", "created_by", "last_seq", "last_message_at",
                    "created_at")
    list_filter = ("kind", "created_at")
    search_fields = ("=id", "=participants__user__username")
    fields = ("id", "kind", "name", "created_by", "last_seq", "last_message_at", "created_at")
    readonly_fields = fields
    raw_id_fields = ("created_by",)
    list_select_related = ("created_by",)
    show_full_result_count = False
    inlines = [ParticipantInline]


@admin.register(MessagingSettings)
class MessagingSettingsAdmin(ReadOnlyAdmin):
    list_display = ("user", "who_can_message", "read_receipts", "updated_at")
    list_filter = ("who_can_message", "read_receipts")
    search_fields = ("=user__username",)
    readonly_fields = ("user", "who_can_message", "read_receipts", "updated_at")
    list_select_related = ("user",)
    show_full_result_count = False
