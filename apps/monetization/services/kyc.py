"""Identity checks (KYC): the creator uploads documents and submits; staff decide.

States: unverified → submitted → verified / rejected / needs_more; from rejected or
needs_more the creator may add documents and submit again. Documents go to PRIVATE storage
(`apps.accounts.storage.private_storage`: outside MEDIA_ROOT, never served by a URL),
encrypted (`crypto.seal_file`, keys `SWIPEME_KYC_FILE_KEYS`): what is on disk is a Fernet
token, never the upload. Only staff open them, through the admin (each opening audited,
decrypted there and checked against the upload's SHA-256). The file's type is read from its
first bytes, never from the name or the client's content type."""

from __future__ import annotations

import hashlib
import io
import secrets
from typing import IO

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from apps.accounts.locales import country_choices
from apps.accounts.models import User
from apps.accounts.storage import private_storage
from apps.core.audit import Actor, record_audit
from apps.core.errors import ApplicationError, ConflictError, NotFoundError, TooLargeError
from apps.monetization import crypto, payout_notices
from apps.monetization.models import KycDocument, KycProfile

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_DOCUMENTS = 10
IDENTITY_KINDS = frozenset({KycDocument.Kind.PASSPORT, KycDocument.Kind.ID_CARD,
                            KycDocument.Kind.DRIVING_LICENCE})
EDITABLE_STATES = frozenset({KycProfile.State.UNVERIFIED, KycProfile.State.REJECTED,
                             KycProfile.State.NEEDS_MORE})
DOCUMENT_NOT_FOUND = "Document not found."

# What the creator reads on /settings/payouts for each state.
STATE_WORDS = {
    KycProfile.State.UNVERIFIED: "Not verified yet. Upload a photo of an identity document "
                                 "and submit it to get paid.",
    KycProfile.State.SUBMITTED: "Submitted. Our team is checking your documents; you will be "
                                "told when it is done.",
    KycProfile.State.VERIFIED: "Verified. Your identity is confirmed.",
    KycProfile.State.REJECTED: "Rejected. We could not verify your identity with these "
                               "documents.",
    KycProfile.State.NEEDS_MORE: "More information needed. Add what we asked for and submit "
                                 "again.",
}


def _sniff(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) from the file's first bytes, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if head.startswith(b"%PDF-"):
        return "application/pdf", "pdf"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def kyc_profile_for(user_id: int) -> KycProfile:
    profile, _ = KycProfile.objects.get_or_create(user_id=user_id)
    return profile


def _locked_profile(user_id: int) -> KycProfile:
    kyc_profile_for(user_id)
    return KycProfile.objects.select_for_update().get(user_id=user_id)


def _editable(profile: KycProfile) -> None:
    if profile.state == KycProfile.State.SUBMITTED:
        raise ConflictError("Your documents are being reviewed; you can change them if we "
                            "ask for more.", code="kyc_in_review")
    if profile.state == KycProfile.State.VERIFIED:
        raise ConflictError("Your identity is already verified.", code="kyc_verified")


def kyc_document_upload(*, user: User, kind: object, file: IO[bytes] | None,
                        size: int | None) -> KycDocument:
    if kind not in KycDocument.Kind.values:
        raise ApplicationError("Say what the document is.", code="invalid_document",
                               fields={"kind": [f"One of: {', '.join(KycDocument.Kind.values)}."]})
    if file is None:
        raise ApplicationError("Attach the document's file.", code="invalid_document",
                               fields={"file": ["A JPEG, PNG, WebP or PDF file."]})
    if size is not None and size > MAX_DOCUMENT_BYTES:
        raise TooLargeError("The file is larger than 10 MB.", fields={"file": ["At most 10 MB."]})
    body = file.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise TooLargeError("The file is larger than 10 MB.", fields={"file": ["At most 10 MB."]})
    sniffed = _sniff(body[:16])
    if sniffed is None or not body:
        raise ApplicationError("The file must be a JPEG, PNG or WebP photo or a PDF.",
                               code="invalid_document", fields={"file": ["Unsupported type."]})
    content_type, _extension = sniffed
    with transaction.atomic():
        profile = _locked_profile(user.pk)
        _editable(profile)
        if KycDocument.objects.filter(user_id=user.pk).count() >= MAX_DOCUMENTS:
            raise ConflictError(f"At most {MAX_DOCUMENTS} documents; remove one first.",
                                code="too_many_documents")
        name = _save_sealed(user.pk, body)
        try:
            return KycDocument.objects.create(user_id=user.pk, kind=kind, file=name,
                                              sealed=True, content_type=content_type,
                                              size=len(body),
                                              sha256=hashlib.sha256(body).hexdigest())
        except Exception:
            private_storage().delete(name)  # no row: no orphaned file
            raise


def kyc_document_delete(*, user: User, document_id: int) -> None:
    with transaction.atomic():
        profile = _locked_profile(user.pk)
        document = KycDocument.objects.filter(pk=document_id, user_id=user.pk).first()
        if document is None:
            raise NotFoundError(DOCUMENT_NOT_FOUND)
        _editable(profile)
        name = document.file
        document.delete()
        transaction.on_commit(lambda: private_storage().delete(name))


def kyc_submit(*, user: User, legal_name: object, country: object) -> KycProfile:
    errors: dict[str, list[str]] = {}
    name = " ".join(legal_name.split()) if isinstance(legal_name, str) else ""
    if not name or len(name) > 120:
        errors["legal_name"] = ["Your full legal name, as on the document (up to 120 "
                                "characters)."]
    code = country.upper() if isinstance(country, str) else ""
    if code not in dict(country_choices()):
        errors["country"] = ["The country that issued the document (ISO 3166, e.g. DE)."]
    if errors:
        raise ApplicationError("Some fields need fixing.", code="invalid_kyc", fields=errors)
    with transaction.atomic():
        profile = _locked_profile(user.pk)
        _editable(profile)
        if not KycDocument.objects.filter(user_id=user.pk, kind__in=IDENTITY_KINDS).exists():
            raise ApplicationError("Upload a photo of a passport, identity card or driving "
                                   "licence first.", code="kyc_document_missing")
        profile.state = KycProfile.State.SUBMITTED
        profile.legal_name = name
        profile.country = code
        profile.submitted_at = timezone.now()
        profile.save(update_fields=["state", "legal_name", "country", "submitted_at",
                                    "updated_at"])
        return profile


_DECISION_WORDS = {
    KycProfile.State.VERIFIED: ("Your identity is verified",
                                "You can now request payouts once a tax form is on file."),
    KycProfile.State.REJECTED: ("We could not verify your identity", ""),
    KycProfile.State.NEEDS_MORE: ("We need more to verify your identity", ""),
}


def kyc_review(*, user_id: int, decision: str, message: str, actor: Actor,
               ip: str | None = None) -> KycProfile:
    """Staff decide a submitted check; the creator is told in words (the message is what
    they read, required unless verified)."""
    if decision not in _DECISION_WORDS:
        raise ApplicationError("Decide verified, rejected or needs_more.", code="invalid")
    message = message.strip()
    if decision != KycProfile.State.VERIFIED and not message:
        raise ApplicationError("Tell the creator why (the reason is what they read).",
                               code="reason_required")
    with transaction.atomic():
        profile = _locked_profile(user_id)
        if profile.state != KycProfile.State.SUBMITTED:
            raise ConflictError("Only a submitted check can be decided.", code="not_submitted")
        profile.state = decision
        profile.message = message
        profile.reviewed_at = timezone.now()
        profile.reviewed_by_id = actor.pk if actor is not None else None
        profile.save(update_fields=["state", "message", "reviewed_at", "reviewed_by",
                                    "updated_at"])
        record_audit(actor=actor, action=f"monetization.kyc_{decision}", target=profile,
                     reason=message, ip=ip)
        title, body = _DECISION_WORDS[KycProfile.State(decision)]
        payout_notices.tell(user_id=user_id, key=f"kyc:{user_id}:{profile.reviewed_at:%s%f}",
                            title=title, body=message or body)
        return profile


def _save_sealed(user_id: int, body: bytes) -> str:
    """The document encrypted in private storage (the name says nothing of its type)."""
    return private_storage().save(f"kyc/{user_id}/{secrets.token_hex(16)}.fernet",
                                  ContentFile(crypto.seal_file(body)))


def _plaintext(document: KycDocument) -> bytes:
    """The upload's bytes: decrypted, and checked against the SHA-256 taken at upload."""
    with private_storage().open(document.file, "rb") as handle:
        stored = handle.read()
    body = crypto.unseal_file(stored) if document.sealed else stored
    if hashlib.sha256(body).hexdigest() != document.sha256:
        raise ConflictError("This document's file does not match what was uploaded.",
                            code="kyc_document_corrupt")
    return body


def kyc_document_open(*, document: KycDocument, actor: Actor, ip: str | None) -> IO[bytes]:
    """Staff opening a document (the admin's view): audited, decrypted here only."""
    record_audit(actor=actor, action="monetization.kyc_document_view", target=document, ip=ip)
    return io.BytesIO(_plaintext(document))


def kyc_documents_rotate_keys(*, batch: int = 100) -> tuple[int, int]:
    """Re-encrypt every KYC document under the first key of SWIPEME_KYC_FILE_KEYS, and
    encrypt the ones stored before encryption (`sealed` False). Each is written to a new file
    while its row is locked; the row then names it, and the old file is deleted after the
    commit (a crash leaves at worst an unnamed new file, never a row without its file).
    Returns (re-encrypted, newly encrypted). Safe to run again."""
    resealed = encrypted = 0
    last = 0
    while True:
        new_names: list[str] = []
        try:
            with transaction.atomic():
                rows = list(KycDocument.objects.select_for_update().filter(pk__gt=last)
                            .order_by("pk")[:batch])
                if not rows:
                    return resealed, encrypted
                old_names = [row.file for row in rows]
                for row in rows:
                    with private_storage().open(row.file, "rb") as handle:
                        stored = handle.read()
                    token = (crypto.reseal_file(stored) if row.sealed
                             else crypto.seal_file(stored))
                    new_names.append(private_storage().save(
                        f"kyc/{row.user_id}/{secrets.token_hex(16)}.fernet",
                        ContentFile(token)))
                    resealed, encrypted = ((resealed + 1, encrypted) if row.sealed
                                           else (resealed, encrypted + 1))
                    row.file, row.sealed = new_names[-1], True
                KycDocument.objects.bulk_update(rows, ["file", "sealed"])
                transaction.on_commit(lambda names=old_names: _delete_files(names))  # type: ignore[misc]
                last = rows[-1].pk
        except BaseException:
            _delete_files(new_names)  # the rows still name the old files
            raise


def _delete_files(names: list[str]) -> None:
    for name in names:
        private_storage().delete(name)


def kyc_verified(user_id: int) -> bool:
    return KycProfile.objects.filter(user_id=user_id, state=KycProfile.State.VERIFIED).exists()
