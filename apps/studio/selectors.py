"""Reads of the studio, with the permission check in the name, and the database half of the
edit document's validation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import OuterRef, QuerySet, Subquery

from apps.accounts.models import User
from apps.content import selectors as content_selectors
from apps.content.models import Post
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.ids import parse_id
from apps.media.models import MediaAsset
from apps.studio.models import Edit, EditVersion, Preview, Sticker
from apps.studio.textimage import unrenderable

if TYPE_CHECKING:
    from apps.studio.document import Document

# A clip's source must have been validated and probed by media (its duration is known).
USABLE_STATES = (MediaAsset.State.PROCESSING, MediaAsset.State.READY)


def usable_assets_for(user: User, ids: set[int]) -> dict[int, MediaAsset]:
    return {a.pk: a for a in MediaAsset.objects.filter(
        pk__in=ids, owner_id=user.pk, state__in=USABLE_STATES, duration_ms__isnull=False)}


def active_stickers(ids: set[int]) -> dict[int, Sticker]:
    return {s.pk: s for s in Sticker.objects.filter(pk__in=ids, is_active=True)}


def document_refusals(doc: Document, *, user: User) -> dict[str, list[str]]:
    """What in `doc` the database refuses, by dotted field path (empty: fine). One query
    for the assets, one for the stickers, one for the sound."""
    from apps.studio.document import font_path

    fields: dict[str, list[str]] = {}
    assets = usable_assets_for(user, doc.asset_ids())
    for i, clip in enumerate(doc.clips):
        asset = assets.get(clip.asset_id)
        if asset is None:
            # someone else's, missing, still uploading or refused: one answer for all
            fields[f"clips.{i}.asset_id"] = ["Not one of your processed uploads."]
        elif clip.out_ms > (asset.duration_ms or 0):
            fields[f"clips.{i}.out_ms"] = [
                f"Past the end of the clip ({asset.duration_ms} ms)."]
    key = doc.chroma_key
    if key is not None and key.background_asset_id and key.background_asset_id not in assets:
        fields["chroma_key.background_asset_id"] = ["Not one of your processed uploads."]
    stickers = active_stickers({s.sticker_id for s in doc.stickers})
    for i, placed in enumerate(doc.stickers):
        if placed.sticker_id not in stickers:
            fields[f"stickers.{i}.sticker_id"] = ["No such sticker in the library."]
    for i, text in enumerate(doc.texts):
        if not font_path(text.font).is_file():
            fields[f"texts.{i}.font"] = [f"The font {text.font!r} is not installed here."]
            continue
        # the font, or the colour emoji font for emoji (apps.studio.textimage)
        missing = unrenderable(font_path(text.font), text.text)
        if missing:
            shown = " ".join(missing[:10])
            fields[f"texts.{i}.text"] = [
                f"The font {text.font!r} and the emoji font cannot draw {shown}; remove or "
                "replace them."]
    if doc.sound is not None:
        try:
            sound = content_selectors.get_sound_for(viewer=user, sound_id=doc.sound.sound_id)
        except ApplicationError:
            fields["sound.sound_id"] = ["No such sound."]
        else:
            refusal = content_selectors.sound_use_refusal(sound, user=user)
            if refusal is not None:
                fields["sound.sound_id"] = [refusal.message]
    burned = doc.burned_captions
    for i, cue in enumerate(burned.cues if burned is not None else []):
        assert burned is not None
        # drawn like a text overlay: the font, or the colour emoji font (apps.studio.burn)
        missing = unrenderable(font_path(burned.font), cue.text)
        if missing:
            fields[f"burned_captions.cues.{i}.text"] = [
                f"The font {burned.font!r} and the emoji font cannot draw "
                f"{' '.join(missing[:10])}; remove or replace them."]
    if doc.source is not None:  # a duet or stitch: the original may be borrowed (derived.py)
        from apps.studio.derived import source_refusals

        fields.update(source_refusals(user, kind=doc.source.kind,
                                      post_id=doc.source.post_id, out_ms=doc.source.out_ms))
    return fields


def get_edit_for(user: User, edit_id: object) -> Edit:
    pk = parse_id(edit_id)
    edit = Edit.objects.filter(pk=pk, owner_id=user.pk).first() if pk else None
    if edit is None:
        raise NotFoundError("Edit not found.")
    return edit


def own_post_for(user: User, post_id: object) -> Post:
    """A post of the user that an edit may change (not removed); anyone else's is missing."""
    pk = parse_id(post_id)
    post = (Post.objects.filter(pk=pk, author_id=user.pk).exclude(status=Post.Status.REMOVED)
            .first() if pk else None)
    if post is None:
        raise NotFoundError("Post not found.", fields={"post_id": ["Not one of your posts."]})
    return post


def post_version_news(post_id: int) -> str | None:
    """What the author reads on the post's page about the latest edit of it that has not
    become its video: waiting for its checks, or refused and why (None: nothing to say)."""
    version = (EditVersion.objects.filter(edit__post_id=post_id)
               .exclude(switch=EditVersion.Switch.NONE).order_by("-updated_at", "-pk").first())
    if version is None or version.switch == EditVersion.Switch.SWITCHED:
        return None
    if version.switch == EditVersion.Switch.WAITING:
        return (f"Your edit (version {version.number}) is being processed and checked; the "
                "post plays the previous version until it is ready.")
    return f"Your edit (version {version.number}) was not applied: {version.switch_reason}"


def get_preview_for(user: User, preview_id: object) -> Preview:
    pk = parse_id(preview_id)
    preview = Preview.objects.filter(pk=pk, owner_id=user.pk).first() if pk else None
    if preview is None:
        raise NotFoundError("Preview not found.")
    return preview


def usable_assets_for_render(ids: set[int]) -> list[MediaAsset]:
    """The assets a validated document names (the owner was checked by validation)."""
    return list(MediaAsset.objects.filter(pk__in=ids, state__in=USABLE_STATES))


def sound_in_render(*, asset_id: int, sound_id: int) -> bool:
    """Whether `asset_id` is a studio render whose document mixed in sound `sound_id`
    (content's sound-in-asset hook: the post credits it without mixing it again). One
    query."""
    return EditVersion.objects.filter(asset_id=asset_id,
                                      document__sound__sound_id=str(sound_id)).exists()


def edits_of(user: User) -> QuerySet[Edit]:
    """The user's edits, newest first, each with its latest version's number, state and
    length (`latest_number`, `latest_state`, `latest_duration_ms`, `latest_updated_at`):
    one query a page whatever its size."""
    latest = EditVersion.objects.filter(edit=OuterRef("pk")).order_by("-number")
    return (Edit.objects.filter(owner_id=user.pk)
            .annotate(latest_number=Subquery(latest.values("number")[:1]),
                      latest_state=Subquery(latest.values("state")[:1]),
                      latest_duration_ms=Subquery(latest.values("duration_ms")[:1]),
                      latest_updated_at=Subquery(latest.values("updated_at")[:1])))
