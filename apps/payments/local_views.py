"""The local test provider's 3-D Secure-like approval page (what a bank shows the payer).

`GET /payments/local/approve/<ref>/?token=...` shows the amount with Approve and Refuse;
the POST answers the local provider, which then sends its webhook (succeeded or failed),
and the payer goes back to the payment's `return_url` (a path on this site) or sees the
outcome here. The token in the link is the capability, as a provider's hosted page; the
payment's own status still changes only when the webhook is processed."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from apps.payments.models import LocalProviderObject, Payment
from apps.payments.money import format_money, to_micros
from apps.payments.providers.base import PaymentRefusedError
from apps.payments.providers.local import TEST_CARDS, LocalProvider


def _charge(ref: str, token: str) -> LocalProviderObject:
    if settings.SWIPEME_PAYMENT_PROVIDER != "local":  # never beside a real provider
        raise Http404("The local test provider is not enabled here.")
    charge = LocalProviderObject.objects.filter(
        ref=ref, kind=LocalProviderObject.Kind.CHARGE).first()
    if charge is None or not charge.approval_token or not hmac.compare_digest(
            charge.approval_token, token):
        raise Http404("This approval link is not valid.")
    return charge


@require_http_methods(["GET", "POST"])
def approve(request: HttpRequest, ref: str) -> HttpResponse:
    token = (request.POST.get("token") if request.method == "POST"
             else request.GET.get("token")) or ""
    charge = _charge(ref, token)
    payment = Payment.objects.filter(
        pk=int(charge.metadata.get("swipeme_payment_id", "0") or 0)).first()
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision not in ("approve", "refuse"):
            return render(request, "payments/local_approve.html", _context(
                charge, token, error="Choose Approve or Refuse."), status=400)
        try:
            charge = LocalProvider().answer_approval(ref=ref, token=token,
                                                     approve=decision == "approve")
        except PaymentRefusedError as exc:
            raise Http404(exc.message) from exc
        back = payment.return_url if payment else ""
        if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
            return HttpResponseRedirect(back)
    return render(request, "payments/local_approve.html", _context(charge, token))


def _context(charge: LocalProviderObject, token: str, error: str = "") -> dict[str, object]:
    return {
        "charge": charge, "token": token, "error": error,
        "amount": format_money(to_micros(charge.amount_minor, charge.currency),
                               charge.currency),
        "card": (f"Test card {charge.payment_method}." if charge.payment_method in TEST_CARDS
                 else "No card given: approving pays with a test card."),
        "waiting": charge.status == "requires_action",
        "approved": charge.status == "succeeded",
    }
