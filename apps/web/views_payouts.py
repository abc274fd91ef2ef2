"""Getting paid on the web: `/studio/earnings` (balance, held by payouts on their way, paid
out, earnings per day by source as a uPlot chart, RPM) and `/settings/payouts` (identity
check, tax form, payout requests, each state in words). The forms post here and call the
services the API calls (apps.monetization.services: kyc, tax, payouts); refusals are shown
on the form, in the service's words."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from apps.accounts import locales
from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.monetization import payout_selectors
from apps.monetization.models import KycDocument, PayoutRequest, TaxForm
from apps.monetization.services import kyc, payouts, tax
from apps.payments.money import format_money, to_micros
from apps.web.pages import viewer_of
from apps.web.views_settings import SECTIONS, _apply_errors

SOURCE_LABELS = {"gift": "Gifts", "tip": "Tips", "subscription": "Subscriptions",
                 "other": "Other"}


def _me(request: HttpRequest) -> User:
    viewer = viewer_of(request)
    assert viewer is not None  # login_required
    return viewer


def _usd(cents: int) -> str:
    return format_money(to_micros(cents, "USD"), "USD")


@login_required
@require_safe
def earnings(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    period = request.GET.get("period", "28d")
    if period not in payout_selectors.PERIODS:
        period = "28d"
    data = payout_selectors.earnings_payload(me.pk, period)
    chart = {
        "days": [int(datetime.combine(d["day"], datetime.min.time(), tzinfo=UTC).timestamp())
                 for d in data["daily"]],
        "gift": [d["gift_minor"] for d in data["daily"]],
        "tip": [d["tip_minor"] for d in data["daily"]],
        "subscription": [d["subscription_minor"] for d in data["daily"]],
    }
    sources = [{"key": key, "label": SOURCE_LABELS.get(key, key), "money": _usd(cents),
                "percent": round(100 * cents / data["period_minor"], 1)
                if data["period_minor"] else 0}
               for key, cents in data["by_source"].items() if cents]
    return render(request, "web/earnings.html", {
        "period": period, "periods": list(payout_selectors.PERIODS), "data": data, "chart": chart,
        "sources": sources, "available": _usd(data["available_minor"]),
        "pending": _usd(data["pending_minor"]), "paid_out": _usd(data["paid_out_minor"]),
        "clearing": _usd(data["clearing_minor"]),
        "clearing_next": _usd(data["clearing_next_minor"]),
        "owed": _usd(data["owed_minor"]) if data["owed_minor"] else "",
        "period_total": _usd(data["period_minor"]),
        "rpm": None if data["rpm_minor"] is None else _usd(data["rpm_minor"]),
    })


class DocumentForm(forms.Form):
    kind = forms.ChoiceField(label="Document", choices=KycDocument.Kind.choices)
    file = forms.FileField(label="Photo or scan", help_text="JPEG, PNG, WebP or PDF, up to "
                           "10 MB. Only our verification team sees it.")


class KycSubmitForm(forms.Form):
    legal_name = forms.CharField(label="Full legal name", max_length=120,
                                 help_text="As written on the document.")
    country = forms.ChoiceField(label="Country that issued the document")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
            ("", "Choose…"), *locales.country_choices()]


class W9Form(forms.Form):
    legal_name = forms.CharField(label="Legal name", max_length=120)
    business_name = forms.CharField(label="Business name (optional)", max_length=120,
                                    required=False)
    tax_classification = forms.ChoiceField(label="Federal tax classification",
                                           choices=list(tax.W9_CLASSIFICATIONS.items()))
    address_line = forms.CharField(label="Address", max_length=120)
    city = forms.CharField(label="City", max_length=60)
    state = forms.CharField(label="State", max_length=2, help_text="Two letters, e.g. CA.")
    zip = forms.CharField(label="ZIP code", max_length=10)
    tin_type = forms.ChoiceField(label="Taxpayer identification number",
                                 choices=[("ssn", "SSN or ITIN"), ("ein", "EIN")])
    tin = forms.CharField(label="Number", max_length=20,
                          widget=forms.TextInput(attrs={"autocomplete": "off"}))
    signature_name = forms.CharField(label="Signature (type your legal name)", max_length=120)
    certify = forms.BooleanField(label="Under penalties of perjury, I certify that the "
                                 "information on this form is true, correct and complete")


class W8BenForm(forms.Form):
    legal_name = forms.CharField(label="Legal name", max_length=120)
    citizenship_country = forms.ChoiceField(label="Country of citizenship")
    address_line = forms.CharField(label="Permanent residence address", max_length=120)
    city = forms.CharField(label="City", max_length=60)
    residence_country = forms.ChoiceField(label="Country of residence")
    foreign_tin = forms.CharField(label="Tax identification number in your country",
                                  max_length=30, required=False,
                                  widget=forms.TextInput(attrs={"autocomplete": "off"}))
    foreign_tin_not_required = forms.BooleanField(
        label="My country does not require a tax identification number", required=False)
    date_of_birth = forms.DateField(label="Date of birth", widget=forms.DateInput(
        attrs={"type": "date"}))
    signature_name = forms.CharField(label="Signature (type your legal name)", max_length=120)
    certify = forms.BooleanField(label="I certify that I am not a US person and that the "
                                 "information on this form is true, correct and complete")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        countries = [("", "Choose…"), *locales.country_choices()]
        for name in ("citizenship_country", "residence_country"):
            self.fields[name].choices = countries  # type: ignore[attr-defined]


class PayoutForm(forms.Form):
    amount = forms.CharField(label="Amount (US dollars)", max_length=16,
                             widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    destination = forms.CharField(label="Payout account", max_length=64,
                                  help_text="Your payout account's id at our payment "
                                            "provider.")

    def clean_amount(self) -> int:
        raw = self.cleaned_data["amount"].strip().lstrip("$").replace(",", "")
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise forms.ValidationError("An amount in dollars, e.g. 25.00.") from None
        if not value.is_finite() or value <= 0 or value != value.quantize(Decimal("0.01")):
            raise forms.ValidationError("An amount in dollars and cents, e.g. 25.00.")
        return int(value * 100)


FORMS: dict[str, type[forms.Form]] = {
    "document": DocumentForm, "kyc_submit": KycSubmitForm, "w9": W9Form, "w8ben": W8BenForm,
    "payout": PayoutForm}


def _run(me: User, action: str, form: forms.Form, request: HttpRequest) -> str:
    """The service for a valid form; the words told on success."""
    values = form.cleaned_data
    if action == "document":
        upload = values["file"]
        kyc.kyc_document_upload(user=me, kind=values["kind"], file=upload, size=upload.size)
        return "Document added. Submit it for review when you have added everything."
    if action == "kyc_submit":
        kyc.kyc_submit(user=me, legal_name=values["legal_name"], country=values["country"])
        return "Submitted. We will tell you when your identity is verified."
    if action in ("w9", "w8ben"):
        fields = {k: (v.isoformat() if k == "date_of_birth" and v else v)
                  for k, v in values.items()}
        tax.tax_form_submit(user=me, kind=action, data=fields)
        return "Your tax form is on file."
    payout, _ = payouts.payout_request(user=me, amount_minor=values["amount"],
                                       destination=values["destination"],
                                       key=request.POST.get("key") or None)
    return (f"Payout of {_usd(payout.amount_minor)} requested: "
            f"{payout.get_state_display().lower()}.")


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def payouts_page(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    bound: dict[str, forms.Form] = {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if action == "delete_document":
            try:
                kyc.kyc_document_delete(user=me, document_id=int(request.POST.get("id", "0")))
            except (ApplicationError, ValueError) as error:
                messages.error(request, getattr(error, "message", "Document not found."))
            return redirect("web:settings-payouts")
        if action in FORMS:
            form = FORMS[action](request.POST, request.FILES)
            if form.is_valid():
                try:
                    told = _run(me, action, form, request)
                except ApplicationError as error:
                    _apply_errors(form, error)
                else:
                    messages.success(request, told)
                    return redirect("web:settings-payouts")
            bound[action] = form
            status = 400
    state = payout_selectors.payout_status(
        me, minimum_minor=settings.SWIPEME_PAYOUT_MINIMUM_MINOR)
    last = next((p.destination for p in state.payouts if p.destination), "")
    return render(request, "web/payouts.html", {
        "sections": SECTIONS, "section": "payouts", "state": state,
        "available": _usd(state.available_minor), "minimum": _usd(state.minimum_minor),
        "pending": format_money(state.pending_micros, "USD"),
        "clearing": format_money(state.clearing.total_micros, "USD"),
        "document_form": bound.get("document") or DocumentForm(),
        "kyc_form": bound.get("kyc_submit") or KycSubmitForm(initial={
            "legal_name": state.kyc.legal_name, "country": state.kyc.country or me.country}),
        "w9_form": bound.get("w9") or W9Form(),
        "w8_form": bound.get("w8ben") or W8BenForm(initial={
            "date_of_birth": me.date_of_birth}),
        "tax_open": "w8ben" if "w8ben" in bound else ("w9" if "w9" in bound else ""),
        "payout_form": bound.get("payout") or PayoutForm(initial={
            "destination": last, "amount": f"{state.available_minor / 100:.2f}"}),
        "kyc_editable": state.kyc.state in kyc.EDITABLE_STATES,
        "payout_rows": [(p, _usd(p.amount_minor)) for p in state.payouts],
        "states": PayoutRequest.State, "tax_kinds": TaxForm.Kind,
    }, status=status)
