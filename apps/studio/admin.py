from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from apps.core.admin import AuditedModelAdmin
from apps.studio.models import Sticker
from apps.studio.stickers import StickerRefused, inspect_sticker


class StickerForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Sticker
        fields = ["name", "image", "is_active"]

    def clean_image(self) -> Any:
        image = self.cleaned_data["image"]
        if image and hasattr(image, "read"):
            head = image.read(64 * 1024)
            image.seek(0)
            try:
                self.instance.kind, self.instance.animated = inspect_sticker(head)
            except StickerRefused as exc:
                raise forms.ValidationError(str(exc)) from exc
        return image


@admin.register(Sticker)
class StickerAdmin(AuditedModelAdmin):
    """The sticker library: staff upload PNG or (animated) WebP images (each add and change
    leaves an audit row)."""

    form = StickerForm
    list_display = ["name", "kind", "animated", "is_active", "created_at"]
    list_filter = ["is_active", "kind", "animated"]
    search_fields = ["name"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # edits name stickers by id: retire one with is_active instead
        return False
