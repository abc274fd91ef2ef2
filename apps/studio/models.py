from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import TimestampedModel


class Sticker(TimestampedModel):
    """A sticker of the staff-managed library (admin): a PNG or an animated WebP that edit
    documents place on the video by id. Inactive stickers cannot be used by new edits."""

    class Kind(models.TextChoices):
        PNG = "png"
        WEBP = "webp"

    name = models.CharField(max_length=80)
    image = models.FileField(upload_to="studio/stickers/")
    kind = models.CharField(max_length=4, choices=Kind.choices, editable=False)
    animated = models.BooleanField(default=False, editable=False)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return self.name


class Edit(TimestampedModel):
    """A creator's edit: its versions' documents, the last of which is the one being worked
    on. A version that was rendered is frozen; changing the document then makes the next
    version (so a published post's edit is never rewritten under it)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="studio_edits")
    # The post this edit changes: named when the edit is made from a post, or found when a
    # version after the first renders (the post plays an earlier version's upload). Each
    # later render then switches the post onto its upload (services.switching).
    post = models.ForeignKey("content.Post", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")

    class Meta:
        indexes = [models.Index(fields=["owner", "-id"], name="studio_edit_owner_recent")]

    def __str__(self) -> str:
        return f"edit {self.pk}"


class EditVersion(TimestampedModel):
    class State(models.TextChoices):
        DRAFT = "draft"          # the document may still change in place
        RENDERING = "rendering"
        RENDERED = "rendered"    # its output asset went to media's pipeline
        FAILED = "failed"

    edit = models.ForeignKey(Edit, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    document = models.JSONField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    state_reason = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    # the render: a new media asset whose source is the rendered file
    asset = models.ForeignKey("media.MediaAsset", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    render_seconds = models.FloatField(null=True, blank=True)

    class Switch(models.TextChoices):
        """Moving the edit's post onto this version's upload (after the render)."""

        NONE = ""                # no post to switch (a new video: the client posts it)
        WAITING = "waiting"      # for the upload to be playable and checked
        SWITCHED = "switched"    # the post plays this version
        REFUSED = "refused"      # the post still plays the version before; why in words

    switch = models.CharField(max_length=8, choices=Switch.choices, default=Switch.NONE,
                              blank=True)
    switch_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["edit", "number"], name="studio_version_unique"),
        ]

    def __str__(self) -> str:
        return f"edit {self.edit_id} v{self.number} ({self.state})"


class Preview(TimestampedModel):
    """A quick low-resolution render of a document (not kept as a version)."""

    class State(models.TextChoices):
        QUEUED = "queued"
        DONE = "done"
        FAILED = "failed"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="studio_previews")
    document = models.JSONField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    state_reason = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    file = models.CharField(max_length=200, blank=True)  # under MEDIA_ROOT
    render_seconds = models.FloatField(null=True, blank=True)

    def __str__(self) -> str:
        return f"preview {self.pk} ({self.state})"
