"""Every write of the studio: edits and their versions, previews, and the renders the media
workers run (tasks.py calls `version_render_run` / `preview_render_run`).

One pipeline: a version's render is ONE ffmpeg command (apps.studio.graph) whose output
becomes a new media asset's source (`media.services.asset_create_from_file`), processed
by media's steps like an upload: validated, stream-copied into a fresh container, then
the CMAF/HLS ladder. The render is the only encode before the ladder.
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Sound as SoundRow
from apps.core.errors import ApplicationError, ConflictError, is_database_outage
from apps.core.outbox import enqueue_on_commit
from apps.media import services as media_services
from apps.media import storage as media_storage
from apps.media.transcode import ToolFailed, run_ffmpeg
from apps.studio import burn, graph, selectors, switching, textimage
from apps.studio.document import (
    BORROWED,
    PREVIEW_MAX_MS,
    Document,
    EditRefused,
    canonical,
    font_path,
    validate_document,
)
from apps.studio.models import Edit, EditVersion, Preview, Sticker

logger = logging.getLogger(__name__)

PREVIEW_DIR = "studio/previews"
# A preview is for the editing session that asked for it: older ones (and their files) are
# removed by the beat task `apps.studio.remove_old_previews`.
PREVIEW_KEEP = timedelta(hours=24)
PREVIEW_URL_TTL = 600  # seconds of a presigned preview URL (S3)


# --- edits and versions --------------------------------------------------------------


def edit_create(*, user: User, document: Any, post_id: object = None) -> EditVersion:
    """A new edit with its first (draft) version; the document is refused before anything
    is stored if it is not valid. With `post_id` (one of the user's posts) each render
    becomes that post's video once checked (`switching`)."""
    post = selectors.own_post_for(user, post_id) if post_id is not None else None
    doc = validate_document(document, user=user)
    with transaction.atomic():
        edit = Edit.objects.create(owner=user, post=post)
        return EditVersion.objects.create(edit=edit, number=1, document=canonical(doc),
                                          duration_ms=doc.duration_ms)


def _latest_locked(edit: Edit) -> EditVersion:
    version = (EditVersion.objects.select_for_update().filter(edit=edit)
               .order_by("-number").first())
    assert version is not None  # every edit is created with its first version
    return version


def edit_update(*, user: User, edit_id: object, document: Any) -> EditVersion:
    """A draft keeps its document (changed in place); once a version was rendered (it may
    be a published post's video) the change is the next version, the old one untouched."""
    edit = selectors.get_edit_for(user, edit_id)
    doc = validate_document(document, user=user)
    with transaction.atomic():
        latest = _latest_locked(edit)
        if latest.state == EditVersion.State.RENDERING:
            raise ConflictError("This edit is being rendered; change it when it is done.",
                                code="edit_rendering")
        if latest.state == EditVersion.State.DRAFT:
            latest.document = canonical(doc)
            latest.duration_ms = doc.duration_ms
            latest.save(update_fields=["document", "duration_ms", "updated_at"])
            return latest
        return EditVersion.objects.create(edit=edit, number=latest.number + 1,
                                          document=canonical(doc), duration_ms=doc.duration_ms)


def edit_render(*, user: User, edit_id: object) -> EditVersion:
    """Queues the render of the edit's latest version (checked again first: an upload it
    uses may have gone since it was saved)."""
    edit = selectors.get_edit_for(user, edit_id)
    with transaction.atomic():
        latest = _latest_locked(edit)
        if latest.state in (EditVersion.State.RENDERING, EditVersion.State.RENDERED):
            raise ConflictError(f"Version {latest.number} is already {latest.state}; change "
                                "the document to make a new version.", code="edit_rendered")
        validate_document(latest.document, user=user)
        latest.state = EditVersion.State.RENDERING
        latest.state_reason = ""
        latest.save(update_fields=["state", "state_reason", "updated_at"])
        from apps.studio.tasks import render_version

        enqueue_on_commit(render_version, latest.pk)
    return latest


def edit_versions(edit: Edit) -> list[EditVersion]:
    return list(edit.versions.order_by("number"))


def edit_latest(edit: Edit) -> EditVersion:
    number = edit.versions.aggregate(n=Max("number"))["n"]
    return edit.versions.get(number=number)


# --- previews ------------------------------------------------------------------------


def preview_create(*, user: User, document: Any) -> Preview:
    doc = validate_document(document, user=user)
    if doc.duration_ms > PREVIEW_MAX_MS:
        raise EditRefused(f"Previews are for edits of at most {PREVIEW_MAX_MS // 1000} s; "
                          f"this one lasts {doc.duration_ms / 1000:.0f} s. Render it instead.",
                          fields={"clips": [f"At most {PREVIEW_MAX_MS // 1000} s to preview."]})
    with transaction.atomic():
        preview = Preview.objects.create(owner=user, document=canonical(doc),
                                         duration_ms=doc.duration_ms)
        from apps.studio.tasks import render_preview

        enqueue_on_commit(render_preview, preview.pk)
    return preview


def preview_path(preview: Preview) -> Path | None:
    """The preview's file on local storage (None: not ready, gone, or kept on S3)."""
    if preview.state != Preview.State.DONE or not preview.file:
        return None
    try:
        path = Path(default_storage.path(preview.file))
    except NotImplementedError:  # a remote storage: see preview_url
        return None
    return path if path.is_file() else None


def preview_url(preview: Preview) -> str | None:
    """With S3 storage: a short-lived presigned GET URL of the preview's object (the
    bucket serves ranges for the <video>). None with local storage."""
    from apps.media.s3 import s3_storage

    remote = s3_storage()
    if remote is None or preview.state != Preview.State.DONE or not preview.file:
        return None
    client = remote.connection.meta.client
    return str(client.generate_presigned_url(
        "get_object", ExpiresIn=PREVIEW_URL_TTL,
        Params={"Bucket": remote.bucket_name, "Key": remote._normalize_name(preview.file),
                "ResponseContentType": "video/mp4"}))


def _store_preview(preview_id: int, local: Path) -> str:
    """The rendered preview into the project's storage (MEDIA_ROOT, or the S3 bucket as
    other media); a random part in the name: a guessed name finds nothing."""
    name = f"{PREVIEW_DIR}/{preview_id}-{uuid.uuid4().hex[:12]}.mp4"
    with local.open("rb") as handle:
        return str(default_storage.save(name, File(handle, name=name)))


def previews_remove_old(*, older_than: timedelta = PREVIEW_KEEP, batch: int = 500) -> int:
    """Deletes previews made longer than `older_than` ago, their stored files first (a
    file whose delete fails keeps its row, for the next run). Returns the rows deleted."""
    cutoff = timezone.now() - older_than
    removed = 0
    while True:
        rows = list(Preview.objects.filter(created_at__lt=cutoff)
                    .order_by("pk").values_list("pk", "file")[:batch])
        if not rows:
            return removed
        done = []
        for pk, name in rows:
            try:
                if name:
                    default_storage.delete(name)
            except Exception:
                logger.exception("studio: could not delete the preview file %s", name)
                continue
            done.append(pk)
        removed += Preview.objects.filter(pk__in=done).delete()[0]
        if len(done) < len(rows):
            return removed  # some files could not be deleted: try again next run


# --- rendering (the media workers) -----------------------------------------------------


def _fetch_inputs(doc: Document, *, work: Path) -> graph.Inputs:
    """Local files for everything the document names, and the canvas's first clip size."""
    assets = {a.pk: a for a in selectors.usable_assets_for_render(doc.asset_ids())}
    sources = {}
    for asset_id in doc.asset_ids():
        asset = assets[asset_id]
        sources[asset_id] = graph.Source(path=media_services.asset_source_file(asset_id),
                                         has_audio=bool((asset.probe or {}).get("has_audio")))
    if doc.source is not None:  # a duet's or stitch's original (allowed: checked just now)
        from apps.studio.derived import borrowed_source

        sources[BORROWED] = borrowed_source(doc.source.post_id)
    stickers = {}
    for sticker in Sticker.objects.filter(pk__in={s.sticker_id for s in doc.stickers}):
        local = media_storage.fetch_stored(str(sticker.image.name),
                                           work / f"sticker-{sticker.pk}.{sticker.kind}")
        if local is None:
            raise FileNotFoundError(f"sticker {sticker.pk}'s image is missing")
        stickers[sticker.pk] = graph.StickerFile(path=local, animated=sticker.animated)
    sound: Path | None = None
    if doc.sound is not None:
        sound = _sound_file(doc.sound.sound_id, work)
    return graph.Inputs(sources=sources, stickers=stickers, sound=sound)


def _sound_file(sound_id: int, work: Path) -> Path | None:
    row = SoundRow.objects.filter(pk=sound_id).first()
    if row is None:
        return None
    if row.audio_file:
        return media_storage.fetch_stored(str(row.audio_file.name), work / "sound")
    if row.source_asset_id is not None:
        outputs = row.source_asset.outputs if row.source_asset else {}
        name = (outputs or {}).get("audio")
        if isinstance(name, str):
            return media_storage.fetch_output(row.source_asset_id, name, work / "sound.m4a")
    return None  # an original sound without audio: silence


def render_document(doc: Document, *, work: Path, out: Path, preview: bool) -> float:
    """Renders `doc` into `out` with one ffmpeg command; returns the seconds it took."""
    inputs = _fetch_inputs(doc, work=work)
    first = selectors.usable_assets_for_render({doc.clips[0].asset_id})[0]
    canvas = graph.canvas_for(first.width or 720, first.height or 1280, preview=preview)
    # the words (and their colour emoji) as images, sized to the canvas: nothing in them
    # reaches ffmpeg's filter syntax
    inputs.text_images = textimage.write_images(
        doc.texts, [font_path(t.font) for t in doc.texts], canvas.height, work)
    if doc.burned_captions is not None:
        inputs.captions_file = burn.write_images(doc.burned_captions, canvas, work,
                                                 doc.duration_ms)
    args = graph.build_command(doc, inputs, canvas, out)
    started = time.monotonic()
    run_ffmpeg(args)
    return time.monotonic() - started


def _recheck(document: dict[str, Any], owner: User) -> Document:
    return validate_document(document, user=owner)


def version_render_run(*, version_id: int) -> str:
    version = EditVersion.objects.select_related("edit__owner").filter(pk=version_id).first()
    if version is None or version.state != EditVersion.State.RENDERING:
        return "skipped"
    with tempfile.TemporaryDirectory(prefix="studio-render-") as tmp:
        work = Path(tmp)
        try:
            doc = _recheck(version.document, version.edit.owner)
            seconds = render_document(doc, work=work, out=work / "render.mp4", preview=False)
        except Exception as exc:
            if is_database_outage(exc):
                raise  # the task retries (OutageAwareTask)
            _version_failed(version_id, exc)
            return "failed"
        with transaction.atomic():
            locked = EditVersion.objects.select_for_update().get(pk=version_id)
            if locked.state != EditVersion.State.RENDERING or locked.asset_id is not None:
                return "skipped"  # a redelivered task finished first
            asset = media_services.asset_create_from_file(
                owner_id=version.edit.owner_id, path=work / "render.mp4")
            locked.asset = asset
            locked.state = EditVersion.State.RENDERED
            locked.render_seconds = seconds
            locked.save(update_fields=["asset", "state", "render_seconds", "updated_at"])
            switching.version_rendered(locked)  # an edit of a post: switch it once checked
    return "rendered"


def _reason(exc: Exception) -> str:
    """The words the creator sees; anything unexpected is logged with its traceback, and
    the version is left failed rather than rendering for ever."""
    if isinstance(exc, ApplicationError):
        return exc.message
    if isinstance(exc, FileNotFoundError):
        return "A file the edit uses is missing; check its clips and try again."
    if isinstance(exc, ToolFailed):
        logger.warning("studio render failed: %s", exc.log_tail[-1000:])
    else:
        logger.exception("studio render failed")
    return "The render failed; try again."


def _version_failed(version_id: int, exc: Exception) -> None:
    EditVersion.objects.filter(pk=version_id, state=EditVersion.State.RENDERING).update(
        state=EditVersion.State.FAILED, state_reason=_reason(exc)[:300])


def preview_render_run(*, preview_id: int) -> str:
    preview = Preview.objects.select_related("owner").filter(pk=preview_id).first()
    if preview is None or preview.state != Preview.State.QUEUED:
        return "skipped"
    with tempfile.TemporaryDirectory(prefix="studio-preview-") as tmp:
        work = Path(tmp)
        try:
            doc = _recheck(preview.document, preview.owner)
            seconds = render_document(doc, work=work, out=work / "preview.mp4", preview=True)
        except Exception as exc:
            if is_database_outage(exc):
                raise
            Preview.objects.filter(pk=preview_id, state=Preview.State.QUEUED).update(
                state=Preview.State.FAILED, state_reason=_reason(exc)[:300])
            return "failed"
        name = _store_preview(preview_id, work / "preview.mp4")
    updated = Preview.objects.filter(pk=preview_id, state=Preview.State.QUEUED).update(
        state=Preview.State.DONE, file=name, render_seconds=seconds)
    if not updated:  # a redelivered task finished first, or the row is gone
        default_storage.delete(name)
    return "done"
