"""The sticker library's admin (PNG and WebP only, kind and animation from the bytes), the
shipped LUTs (the files are what the preset functions write), and a render whose upload
went away after the edit was saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.datastructures import MultiValueDict

from apps.media.models import MediaAsset
from apps.studio import luts, services
from apps.studio.admin import StickerForm
from apps.studio.models import EditVersion
from tests.studio.conftest import png_bytes


@pytest.mark.parametrize("name", list(luts.PRESETS))
def test_the_shipped_luts_are_the_presets(name: str) -> None:
    assert luts.lut_path(name).read_text() == luts.cube_text(name)


@pytest.mark.django_db
def test_the_admin_takes_png_and_webp_and_refuses_anything_else() -> None:
    png = StickerForm(data={"name": "heart", "is_active": True},
                      files=MultiValueDict({"image": [SimpleUploadedFile("heart.png",
                                                                         png_bytes())]}))
    assert png.is_valid(), png.errors
    sticker = png.save()
    assert (sticker.kind, sticker.animated) == ("png", False)
    jpeg_bytes = b"\xff\xd8\xff\xe0" + b"0" * 100
    jpeg = StickerForm(data={"name": "photo", "is_active": True},
                       files=MultiValueDict({"image": [SimpleUploadedFile("photo.png",
                                                                          jpeg_bytes)]}))
    assert not jpeg.is_valid()
    assert "PNG or a WebP" in str(jpeg.errors["image"])


@pytest.mark.django_db(transaction=True)
def test_a_render_whose_upload_went_away_fails_in_words(source: Any) -> None:
    asset = source()
    user = asset.owner
    version = services.edit_create(user=user, document={
        "version": 1, "clips": [{"asset_id": str(asset.pk), "in_ms": 0, "out_ms": 1000}]})
    services.edit_render(user=user, edit_id=version.edit_id)
    MediaAsset.objects.filter(pk=asset.pk).update(state=MediaAsset.State.FAILED)
    assert services.version_render_run(version_id=version.pk) == "failed"
    version.refresh_from_db()
    assert version.state == EditVersion.State.FAILED
    assert "Not one of your processed uploads" in version.state_reason
    assert version.asset_id is None
