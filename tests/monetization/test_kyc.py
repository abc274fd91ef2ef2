"""Identity checks (KYC): documents go to private storage (never under MEDIA_ROOT, no public
URL), the file type is read from its bytes, staff decide in the admin (audited, the creator
told in words), staff alone open a document (audited), other people's documents are 404."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from apps.accounts.storage import private_storage
from apps.core.errors import TooLargeError
from apps.core.models import AuditEvent
from apps.monetization.models import KycDocument, KycProfile
from apps.notifications.models import Notification
from tests.factories import UserFactory
from tests.monetization.coin_helpers import adult, client_for

pytestmark = pytest.mark.django_db(transaction=True)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%%EOF\n"


def _upload(api: Any, kind: str = "passport", body: bytes = PNG, name: str = "id.png") -> Any:
    return api.post("/api/v1/me/kyc/documents",
                    {"kind": kind, "file": SimpleUploadedFile(name, body, "image/png")},
                    format="multipart")


def test_upload_submit_review_and_staff_only_viewing(db: Any) -> None:
    creator = adult()
    api = client_for(creator)
    assert api.get("/api/v1/me/payouts/status").json()["kyc"]["state"] == "unverified"
    # refusals in words, nothing stored
    assert _upload(api, body=b"MZ\x90\x00 not an image", name="x.png").json()["error"][
        "fields"] == {"file": ["Unsupported type."]}
    assert _upload(api, kind="tattoo").status_code == 400
    refused = api.post("/api/v1/me/kyc/submit", {"legal_name": "Maya Lopez", "country": "US"},
                       format="json")
    assert refused.json()["error"]["code"] == "kyc_document_missing"
    assert api.post("/api/v1/me/kyc/submit", {"legal_name": "", "country": "ZZ"},
                    format="json").json()["error"]["fields"].keys() == {"legal_name", "country"}

    answer = _upload(api)
    assert answer.status_code == 201, answer.json()
    document = KycDocument.objects.get(pk=int(answer.json()["id"]))
    assert document.content_type == "image/png"
    stored = Path(private_storage().path(document.file))
    # encrypted at rest: the bytes on disk are a Fernet token, not the upload
    assert document.sealed
    assert stored.read_bytes() != PNG
    assert b"PNG" not in stored.read_bytes()
    assert not document.file.endswith(".png")
    assert not stored.resolve().is_relative_to(Path(settings.MEDIA_ROOT).resolve())
    assert _upload(api, kind="selfie", body=PDF, name="me.pdf").status_code == 201

    submitted = api.post("/api/v1/me/kyc/submit", {"legal_name": "Maya  Lopez",
                                                   "country": "us"}, format="json")
    assert submitted.json()["kyc"]["state_text"].startswith("Submitted.")
    assert _upload(api).json()["error"]["code"] == "kyc_in_review"
    assert api.delete(f"/api/v1/me/kyc/documents/{document.pk}").status_code == 409

    # another account and a signed-out client: 404 / 401, the file stays
    stranger = client_for(adult())
    gone = stranger.delete(f"/api/v1/me/kyc/documents/{document.pk}")
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "not_found"
    signed_out = APIClient().delete(f"/api/v1/me/kyc/documents/{document.pk}")
    assert signed_out.status_code in (401, 403)
    assert set(signed_out.json()) == {"error"}
    assert stored.exists()

    # staff: only with the permission; the opening is audited
    staff = UserFactory(is_staff=True)
    web = Client()
    web.force_login(staff)
    file_url = f"/django-admin/monetization/kycdocument/{document.pk}/file/"
    assert web.get(file_url).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="view_kycdocument"),
                               Permission.objects.get(codename="view_kycprofile"),
                               Permission.objects.get(codename="change_kycprofile"))
    opened = web.get(file_url)
    assert opened.status_code == 200
    assert opened.getvalue() == PNG  # decrypted in the audited view only
    assert "no-store" in opened["Cache-Control"]
    assert AuditEvent.objects.filter(verb="kyc_document_view", actor=staff,
                                     target_id=document.pk).exists()
    creator_web = Client()
    creator_web.force_login(creator)
    assert creator_web.get(file_url).status_code == 302  # the admin's log-in, never the file

    # needs more without a reason: refused; with one: the creator reads it
    changelist = "/django-admin/monetization/kycprofile/"
    web.post(changelist, {"action": "needs_more", "_selected_action": [creator.pk],
                          "reason": ""})
    assert KycProfile.objects.get(user=creator).state == KycProfile.State.SUBMITTED
    web.post(changelist, {"action": "needs_more", "_selected_action": [creator.pk],
                          "reason": "The photo is blurred; upload a sharper one."})
    profile = KycProfile.objects.get(user=creator)
    assert (profile.state, profile.reviewed_by_id) == (KycProfile.State.NEEDS_MORE, staff.pk)
    status = api.get("/api/v1/me/payouts/status").json()["kyc"]
    assert status["message"] == "The photo is blurred; upload a sharper one."
    assert status["state_text"].startswith("More information needed.")
    told = Notification.objects.get(recipient_id=creator.pk, type="payouts")
    assert told.data["title"] == "We need more to verify your identity"
    assert told.data["body"] == "The photo is blurred; upload a sharper one."
    assert AuditEvent.objects.filter(verb="kyc_needs_more", actor=staff,
                                     reason__startswith="The photo").exists()

    # the creator adds a document and submits again; staff verify
    assert api.delete(f"/api/v1/me/kyc/documents/{document.pk}").status_code == 204
    assert _upload(api).status_code == 201
    api.post("/api/v1/me/kyc/submit", {"legal_name": "Maya Lopez", "country": "US"},
             format="json")
    web.post(changelist, {"action": "verify", "_selected_action": [creator.pk], "reason": ""})
    assert KycProfile.objects.get(user=creator).state == KycProfile.State.VERIFIED
    assert api.get("/api/v1/me/payouts/status").json()["refusal_code"] == "tax_form_required"


def test_too_large_is_413_and_nothing_stored(db: Any, settings: Any) -> None:
    from apps.monetization.services import kyc

    creator = adult()
    with pytest.raises(TooLargeError):
        kyc.kyc_document_upload(user=creator, kind="passport",
                                file=io.BytesIO(PNG + b"\x00" * kyc.MAX_DOCUMENT_BYTES),
                                size=None)
    assert not KycDocument.objects.exists()


def test_files_encrypted_rotated_and_old_plaintext_encrypted(db: Any, settings: Any) -> None:
    """Rotation: the new key first, the command, the old key removed: still readable, and
    no longer readable with the old key alone. A file stored before encryption is encrypted
    by the same command. A file that does not decrypt is said in words, never a 500."""
    from cryptography.fernet import Fernet
    from django.core.files.base import ContentFile
    from django.core.management import call_command

    from apps.monetization import crypto
    from apps.monetization.services import kyc

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SWIPEME_KYC_FILE_KEYS = [old]
    creator = adult()
    sealed = kyc.kyc_document_upload(user=creator, kind="passport", file=io.BytesIO(PNG),
                                     size=len(PNG))
    first_name = sealed.file
    assert Fernet(old.encode()).decrypt(private_storage().open(first_name).read()) == PNG
    # a document stored before encryption: plaintext on disk, sealed False
    legacy_name = private_storage().save(f"kyc/{creator.pk}/legacy.pdf", ContentFile(PDF))
    legacy = KycDocument.objects.create(user=creator, kind="selfie", file=legacy_name,
                                        content_type="application/pdf", size=len(PDF),
                                        sha256=hashlib.sha256(PDF).hexdigest())
    assert not legacy.sealed

    settings.SWIPEME_KYC_FILE_KEYS = [new, old]
    out = io.StringIO()
    call_command("rotate_kyc_file_keys", stdout=out)
    assert "Re-encrypted 1 KYC document(s)" in out.getvalue()
    assert "encrypted 1 stored in plaintext" in out.getvalue()
    assert AuditEvent.objects.filter(app="monetization", verb="kyc_file_keys_rotate").exists()
    sealed.refresh_from_db()
    legacy.refresh_from_db()
    assert legacy.sealed
    # new files, the old ones deleted after the commit
    assert not private_storage().exists(first_name)
    assert not private_storage().exists(legacy_name)
    for document, body in ((sealed, PNG), (legacy, PDF)):
        raw = private_storage().open(document.file).read()
        assert body not in raw
        assert Fernet(new.encode()).decrypt(raw) == body  # under the new key

    staff = UserFactory(is_staff=True, is_superuser=True)
    web = Client()
    web.force_login(staff)
    settings.SWIPEME_KYC_FILE_KEYS = [new]  # the old key removed: still readable
    for document, body in ((sealed, PNG), (legacy, PDF)):
        opened = web.get(f"/django-admin/monetization/kycdocument/{document.pk}/file/")
        assert opened.status_code == 200
        assert opened.getvalue() == body
    settings.SWIPEME_KYC_FILE_KEYS = [old]  # the old key alone no longer reads them
    refused = web.get(f"/django-admin/monetization/kycdocument/{sealed.pk}/file/",
                      follow=True)
    assert refused.status_code == 200
    assert "The document cannot be shown" in refused.content.decode()
    settings.SWIPEME_KYC_FILE_KEYS = [new]
    assert kyc.kyc_document_open(document=sealed, actor=staff, ip=None).read() == PNG
    # a tax-form key does not open a KYC file: separate key sets
    settings.SWIPEME_TAX_FORM_KEYS = [new]
    settings.SWIPEME_KYC_FILE_KEYS = []
    with pytest.raises(ImproperlyConfigured):
        crypto.unseal_file(private_storage().open(sealed.file).read())


def test_production_without_kyc_keys_refuses(db: Any, settings: Any) -> None:
    from apps.monetization import crypto

    settings.SWIPEME_KYC_FILE_KEYS = []
    settings.SWIPEME_KYC_FILE_KEYS_DERIVED_OK = False
    with pytest.raises(ImproperlyConfigured):
        crypto.seal_file(PNG)
