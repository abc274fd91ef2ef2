"""Staff admin for identity checks (KYC), tax forms, payouts and the finance review queue.

Nothing here edits a row directly: decisions go through the services (which write the audit
row and tell the creator in words), each with the reason typed next to the action.
Documents open only here, for staff with the view permission, each opening audited; they
are never served by a public URL. Tax forms show their kind and a masked TIN, never more."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from apps.core.admin import ReasonActionForm, ViewOnlyAdmin, action_reason
from apps.core.audit import request_ip
from apps.core.errors import ApplicationError
from apps.monetization.models import (
    AccountChange,
    KycDocument,
    KycProfile,
    PayoutRequest,
    RiskReview,
    TaxForm,
)
from apps.monetization.services import kyc, payouts, tax


class _Decisions(ViewOnlyAdmin):
    """Read-only rows whose actions call a service (change permission is what the actions
    need; the form itself stays read-only)."""

    action_form = ReasonActionForm

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}"))

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in self.model._meta.fields] + list(self.readonly_fields)

    def _each(self, request: HttpRequest, rows: QuerySet[Any], decide: Any, done: str) -> None:
        ok = 0
        for row in rows:
            try:
                decide(row)
            except ApplicationError as exc:
                self.message_user(request, f"{row}: {exc.message}", messages.ERROR)
            else:
                ok += 1
        if ok:
            self.message_user(request, f"{done}: {ok}.", messages.SUCCESS)


def document_link(document: KycDocument) -> str:
    url = reverse("admin:monetization_kycdocument_file", args=[document.pk])
    return format_html('<a href="{}" target="_blank" rel="noopener">Open {} ({})</a>', url,
                       document.get_kind_display(), document.content_type)


@admin.register(KycProfile)
class KycProfileAdmin(_Decisions):
    list_display = ("user", "state", "legal_name", "country", "submitted_at", "reviewed_at")
    list_filter = ("state",)
    search_fields = ("user__username", "legal_name")
    ordering = ("submitted_at",)
    readonly_fields = ("documents",)
    actions = ("verify", "reject", "needs_more")
    show_full_result_count = False

    @admin.display(description="Documents")
    def documents(self, row: KycProfile) -> str:
        docs = KycDocument.objects.filter(user_id=row.user_id).order_by("id")
        return format_html_join(mark_safe("<br>"), "{}", ((document_link(d),) for d in docs))

    def _decide(self, request: HttpRequest, rows: QuerySet[KycProfile], decision: str,
                done: str) -> None:
        reason = action_reason(request)
        self._each(request, rows, lambda row: kyc.kyc_review(
            user_id=row.user_id, decision=decision, message=reason, actor=request.user,
            ip=request_ip(request)), done)

    @admin.action(description="Verify identity (the reason is optional)")
    def verify(self, request: HttpRequest, queryset: QuerySet[KycProfile]) -> None:
        self._decide(request, queryset, KycProfile.State.VERIFIED, "Verified")

    @admin.action(description="Reject (the reason is what the creator reads)")
    def reject(self, request: HttpRequest, queryset: QuerySet[KycProfile]) -> None:
        self._decide(request, queryset, KycProfile.State.REJECTED, "Rejected")

    @admin.action(description="Ask for more (the reason says what is missing)")
    def needs_more(self, request: HttpRequest, queryset: QuerySet[KycProfile]) -> None:
        self._decide(request, queryset, KycProfile.State.NEEDS_MORE, "Asked for more")


@admin.register(KycDocument)
class KycDocumentAdmin(ViewOnlyAdmin):
    list_display = ("id", "user", "kind", "content_type", "size", "created_at", "open_link")
    list_filter = ("kind",)
    search_fields = ("user__username",)
    exclude = ("file", "sha256")
    readonly_fields = ("open_link",)
    show_full_result_count = False

    @admin.display(description="File")
    def open_link(self, row: KycDocument) -> str:
        return document_link(row)

    def get_urls(self) -> list[URLPattern]:
        extra = [path("<int:document_id>/file/", self.admin_site.admin_view(self.file_view),
                      name="monetization_kycdocument_file")]
        return extra + super().get_urls()  # type: ignore[operator]

    def file_view(self, request: HttpRequest, document_id: int) -> HttpResponseBase:
        """The document itself, decrypted: staff with the view permission only; each opening
        audited. A file that cannot be decrypted or does not match the upload is said in
        words on the document's page, never served."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        document = KycDocument.objects.filter(pk=document_id).first()
        if document is None:
            raise Http404("No such document.")
        try:
            body = kyc.kyc_document_open(document=document, actor=request.user,
                                         ip=request_ip(request))
        except (ApplicationError, ImproperlyConfigured) as error:
            messages.error(request, f"The document cannot be shown: {error}")
            return redirect(reverse("admin:monetization_kycdocument_change",
                                    args=[document.pk]))
        response = FileResponse(body, content_type=document.content_type)
        response["Cache-Control"] = "private, no-store"
        response["Content-Disposition"] = f'inline; filename="kyc-{document.pk}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


@admin.register(TaxForm)
class TaxFormAdmin(ViewOnlyAdmin):
    list_display = ("id", "user", "kind", "active", "signed_at", "tin_hint")
    list_filter = ("kind", "active")
    search_fields = ("user__username",)
    exclude = ("sealed",)
    readonly_fields = ("tin_hint",)
    show_full_result_count = False

    @admin.display(description="TIN")
    def tin_hint(self, row: TaxForm) -> str:
        return tax.tax_form_summary(row).tin_hint


@admin.register(PayoutRequest)
class PayoutRequestAdmin(ViewOnlyAdmin):
    list_display = ("id", "user", "amount_minor", "currency", "state", "created_at",
                    "updated_at")
    list_filter = ("state",)
    search_fields = ("user__username",)
    raw_id_fields = ("user", "hold")
    show_full_result_count = False


@admin.register(RiskReview)
class RiskReviewAdmin(_Decisions):
    """The finance review queue: payouts held because a risk signal fired."""

    list_display = ("id", "user", "payout_amount", "state", "signal_words", "created_at")
    list_filter = ("state",)
    search_fields = ("user__username",)
    ordering = ("created_at",)
    actions = ("release", "refuse")
    show_full_result_count = False
    readonly_fields = ("signal_words",)

    @admin.display(description="Amount")
    def payout_amount(self, row: RiskReview) -> str:
        return f"{row.payout.amount_minor / 100:,.2f} {row.payout.currency}"

    @admin.display(description="Why it was held")
    def signal_words(self, row: RiskReview) -> str:
        return format_html_join(mark_safe("<br>"), "{}",
                                ((s.get("words", s.get("code", "")),) for s in row.signals))

    def get_queryset(self, request: HttpRequest) -> QuerySet[RiskReview]:
        return super().get_queryset(request).select_related("payout", "user")

    @admin.action(description="Release: send the payout")
    def release(self, request: HttpRequest, queryset: QuerySet[RiskReview]) -> None:
        reason = action_reason(request)
        self._each(request, queryset, lambda row: payouts.payout_review_release(
            review_id=row.pk, actor=request.user, reason=reason, ip=request_ip(request)),
            "Released")

    @admin.action(description="Refuse: return the money to the creator (the reason is what "
                              "they read)")
    def refuse(self, request: HttpRequest, queryset: QuerySet[RiskReview]) -> None:
        reason = action_reason(request)
        self._each(request, queryset, lambda row: payouts.payout_review_refuse(
            review_id=row.pk, actor=request.user, reason=reason, ip=request_ip(request)),
            "Refused")


@admin.register(AccountChange)
class AccountChangeAdmin(ViewOnlyAdmin):
    list_display = ("id", "user", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("user__username",)
    raw_id_fields = ("user",)
    show_full_result_count = False
