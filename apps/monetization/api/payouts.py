"""Earnings, payouts, identity checks (KYC) and tax forms: the creator's own only (thin
views over services/payouts.py, services/kyc.py, services/tax.py and payout_selectors.py).
Another person's payout or document is a 404, never told apart from a missing one."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.core.api.schema import ErrorDocs
from apps.core.errors import NotFoundError
from apps.core.idempotency import PARAMETER as IDEMPOTENCY_KEY
from apps.core.idempotency import idempotency_key
from apps.core.ids import id_or_404
from apps.core.pagination import IdCursorPagination
from apps.monetization import payout_selectors as selectors
from apps.monetization.models import KycDocument, KycProfile, PayoutRequest, TaxForm
from apps.monetization.services import kyc, payouts, tax

TAGS = ["payouts"]
errors = ErrorDocs({
    400: "Invalid input: an amount that is not a whole number of cents in range, an unknown "
         "currency, a malformed tax form (each field says why), a file that is not a JPEG, "
         "PNG, WebP or PDF, an amount under the minimum.",
    403: "Not eligible for payouts: under 18, identity not verified, no tax form on file, a "
         "serious strike in force, a restricted account (the message says which).",
    404: "No such payout or document, or not yours.",
    409: "More than your balance; documents under review or already verified.",
    413: "The file is larger than 10 MB.",
    422: "This Idempotency-Key was already used for a different request.",
    429: "Throttled, or over the payout velocity limit (one a day, four in 30 days).",
})
PERIODS = selectors.PERIODS
PAYOUT_ID = OpenApiParameter("payout_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                             description="Your payout's id (a string).")
DOCUMENT_ID = OpenApiParameter("document_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                               description="Your document's id (a string).")
PERIOD = OpenApiParameter("period", OpenApiTypes.STR, OpenApiParameter.QUERY,
                          enum=list(PERIODS), description="The last 7 or 28 UTC days "
                          "(default 28d).")


class PayoutSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    amount_minor = serializers.IntegerField(help_text="Cents.")
    currency = serializers.CharField()
    destination = serializers.CharField()
    state = serializers.ChoiceField(choices=PayoutRequest.State.choices)
    state_text = serializers.CharField(source="get_state_display")
    message = serializers.CharField(help_text="Why it is held, failed or was refused, in "
                                    "words ('' otherwise).")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class DocumentSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=KycDocument.Kind.choices)
    kind_text = serializers.CharField(source="get_kind_display")
    content_type = serializers.CharField()
    size = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class KycSerializer(serializers.Serializer[Any]):
    state = serializers.ChoiceField(choices=KycProfile.State.choices)
    state_text = serializers.CharField()
    message = serializers.CharField(help_text="What our team told you with its decision.")
    legal_name = serializers.CharField()
    country = serializers.CharField()
    documents = DocumentSerializer(many=True)


class TaxFormSummarySerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    kind = serializers.ChoiceField(choices=TaxForm.Kind.choices)
    kind_text = serializers.CharField(source="kind_label")
    legal_name = serializers.CharField()
    tin_hint = serializers.CharField(help_text="Never the whole number: 'SSN or ITIN ending "
                                     "6789'.")
    signed_at = serializers.DateTimeField()


class PayoutStatusSerializer(serializers.Serializer[Any]):
    kyc = KycSerializer()
    tax_form = TaxFormSummarySerializer(allow_null=True)
    available_minor = serializers.IntegerField(help_text="What you may be paid out now, in "
                                               "cents.")
    clearing_minor = serializers.IntegerField(
        help_text="Earned but still clearing (not payable yet), in cents.")
    clearing_next_on = serializers.DateField(
        allow_null=True, help_text="The UTC day the next clearing amount becomes available.")
    currency = serializers.CharField()
    minimum_minor = serializers.IntegerField()
    can_request = serializers.BooleanField()
    refusal = serializers.CharField(help_text="Why you can't request a payout now, in words.")
    refusal_code = serializers.CharField()


class EarningsDaySerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    gift_minor = serializers.IntegerField()
    tip_minor = serializers.IntegerField()
    subscription_minor = serializers.IntegerField()
    total_minor = serializers.IntegerField()


@extend_schema_serializer(component_name="CreatorEarnings")
class EarningsSerializer(serializers.Serializer[Any]):
    currency = serializers.CharField()
    period = serializers.CharField()
    since = serializers.DateField()
    until = serializers.DateField()
    available_minor = serializers.IntegerField(help_text="Your balance: may be paid out.")
    pending_minor = serializers.IntegerField(help_text="Pending payout: held by payouts on "
                                             "their way.")
    clearing_minor = serializers.IntegerField(
        help_text="Earned but still clearing: gifts, tips and subscription payments wait "
                  "a few days (in case the payment is disputed) before they may be paid out.")
    clearing_next_on = serializers.DateField(
        allow_null=True, help_text="The UTC day the next clearing amount becomes available "
                                   "(null when nothing is clearing).")
    clearing_next_minor = serializers.IntegerField(
        help_text="How much becomes available that day, in cents.")
    owed_minor = serializers.IntegerField(
        help_text="What you owe after card payments behind earnings already paid out were "
                  "disputed, in cents: repaid from your next earnings before they become "
                  "available (0 when nothing is owed).")
    paid_out_minor = serializers.IntegerField(help_text="Paid out, all time.")
    period_minor = serializers.IntegerField(help_text="Earned in the period.")
    by_source = serializers.DictField(child=serializers.IntegerField(),
                                      help_text="Cents earned in the period by source: gift, "
                                      "tip, subscription (and other).")
    views = serializers.IntegerField(help_text="Views of your videos in the period.")
    rpm_minor = serializers.IntegerField(allow_null=True, help_text="Earnings per 1,000 "
                                         "views, in cents; null without views.")
    daily = EarningsDaySerializer(many=True)


class PeriodSerializer(serializers.Serializer[Any]):
    period = serializers.ChoiceField(choices=list(PERIODS), default="28d")


class EarningsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="earnings_retrieve",
                   summary="Your earnings: balance, pending, history by source and day, RPM",
                   parameters=[PERIOD], responses={200: EarningsSerializer, **errors(400, 401,
                                                                                     429)},
                   tags=TAGS)
    def get(self, request: Request) -> Response:
        data = PeriodSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        payload = selectors.earnings_payload(user_of(request).pk,
                                             str(data.validated_data["period"]))
        return Response(EarningsSerializer(payload).data)


def _status(user: Any) -> dict[str, Any]:
    found = selectors.payout_status(user, minimum_minor=settings.SWIPEME_PAYOUT_MINIMUM_MINOR)
    return {
        "kyc": {"state": found.kyc.state, "state_text": found.kyc_words,
                "message": found.kyc.message, "legal_name": found.kyc.legal_name,
                "country": found.kyc.country, "documents": found.documents},
        "tax_form": found.tax_form, "available_minor": found.available_minor,
        "clearing_minor": found.clearing_minor,
        "clearing_next_on": found.clearing.next_day,
        "currency": selectors.CURRENCY, "minimum_minor": found.minimum_minor,
        "can_request": found.can_request, "refusal": found.refusal,
        "refusal_code": found.refusal_code}


class PayoutStatusApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="payouts_status",
                   summary="Where you stand: identity check, tax form, balance, and whether "
                           "you can request a payout (and why not, in words)",
                   responses={200: PayoutStatusSerializer, **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response(PayoutStatusSerializer(_status(user_of(request))).data)


class PayoutsApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination  # the schema documents the page (next, results)

    @extend_schema_serializer(component_name="PayoutRequestInput")
    class InputSerializer(serializers.Serializer[Any]):
        # Typed checks are the service's (payments.check_amount: JSON integers only).
        amount_minor = serializers.JSONField(help_text="Cents, a JSON integer (at least the "
                                             "minimum).")
        currency = serializers.JSONField(required=False, help_text="USD (the default).")
        destination = serializers.JSONField(help_text="Your payout account's id at the "
                                            "provider (the local test provider: anything "
                                            "but bank_fail is paid).")

    @extend_schema(operation_id="payouts_list", summary="Your payouts, newest first",
                   responses={200: PayoutSerializer(many=True), **errors(400, 401, 429)},
                   tags=TAGS)
    def get(self, request: Request) -> Response:
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(selectors.payouts_of(user_of(request).pk), request,
                                           self)
        return paginator.get_paginated_response(PayoutSerializer(page, many=True).data)

    @extend_schema(operation_id="payouts_create",
                   summary="Request a payout: the amount is held from your balance at once; "
                           "it is paid when the provider confirms, returned if it fails",
                   parameters=[IDEMPOTENCY_KEY], request=InputSerializer,
                   responses={201: PayoutSerializer, 200: PayoutSerializer,
                              **errors(400, 401, 403, 409, 422, 429)}, tags=TAGS)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        payout, created = payouts.payout_request(
            user=user_of(request), amount_minor=values["amount_minor"],
            currency=values.get("currency", payouts.PAYOUT_CURRENCY),
            destination=values["destination"], key=idempotency_key(request))
        return Response(PayoutSerializer(payout).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PayoutApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="payouts_retrieve", summary="One of your payouts",
                   parameters=[PAYOUT_ID], responses={200: PayoutSerializer,
                                                      **errors(401, 404, 429)}, tags=TAGS)
    def get(self, request: Request, payout_id: str) -> Response:
        payout = selectors.get_payout_for(
            user_of(request).pk, id_or_404(payout_id, selectors.PAYOUT_NOT_FOUND))
        return Response(PayoutSerializer(payout).data)


class KycDocumentsApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema_serializer(component_name="KycDocumentInput")
    class InputSerializer(serializers.Serializer[Any]):
        kind = serializers.ChoiceField(choices=KycDocument.Kind.choices)
        file = serializers.FileField(help_text="A JPEG, PNG or WebP photo, or a PDF; at most "
                                     "10 MB. Kept in private storage, seen only by our "
                                     "verification team.")

    @extend_schema(operation_id="kyc_documents_create",
                   summary="Upload an identity document for verification",
                   request={"multipart/form-data": InputSerializer},
                   responses={201: DocumentSerializer, **errors(400, 401, 409, 413, 429)},
                   tags=TAGS)
    def post(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        document = kyc.kyc_document_upload(
            user=user_of(request), kind=request.POST.get("kind"), file=upload,
            size=None if upload is None else upload.size)
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)


class KycDocumentApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="kyc_documents_destroy",
                   summary="Remove one of your documents (before you submit)",
                   parameters=[DOCUMENT_ID],
                   responses={204: None, **errors(401, 404, 409, 429)}, tags=TAGS)
    def delete(self, request: Request, document_id: str) -> Response:
        kyc.kyc_document_delete(user=user_of(request), document_id=id_or_404(
            document_id, kyc.DOCUMENT_NOT_FOUND))
        return Response(status=status.HTTP_204_NO_CONTENT)


class KycSubmitApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="KycSubmitInput")
    class InputSerializer(serializers.Serializer[Any]):
        legal_name = serializers.JSONField(help_text="Your full legal name, as on the "
                                           "document.")
        country = serializers.JSONField(help_text="The country that issued the document "
                                        "(ISO 3166, two letters).")

    @extend_schema(operation_id="kyc_submit",
                   summary="Submit your documents for review (you are told the outcome)",
                   request=InputSerializer,
                   responses={200: PayoutStatusSerializer, **errors(400, 401, 409, 429)},
                   tags=TAGS)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_of(request)
        kyc.kyc_submit(user=user, legal_name=data.validated_data["legal_name"],
                       country=data.validated_data["country"])
        return Response(PayoutStatusSerializer(_status(user)).data)


class TaxFormApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="TaxFormInput")
    class InputSerializer(serializers.Serializer[Any]):
        kind = serializers.ChoiceField(choices=TaxForm.Kind.choices)
        form = serializers.DictField(help_text=(
            "W-9: legal_name, business_name?, tax_classification (individual, c_corp, "
            "s_corp, partnership, trust_estate, llc, other), address_line, city, state, zip, "
            "tin_type (ssn|ein), tin, signature_name, certify (true). W-8BEN: legal_name, "
            "citizenship_country, address_line, city, residence_country, foreign_tin or "
            "foreign_tin_not_required (true), us_tin?, date_of_birth (YYYY-MM-DD), "
            "treaty_country?, signature_name, certify (true)."))

    @extend_schema(operation_id="tax_form_retrieve",
                   summary="The tax form on file (never the whole TIN)",
                   responses={200: TaxFormSummarySerializer, **errors(401, 404, 429)},
                   tags=TAGS)
    def get(self, request: Request) -> Response:
        form = tax.active_tax_form(user_of(request).pk)
        if form is None:
            raise NotFoundError("No tax form on file.")
        return Response(TaxFormSummarySerializer(tax.tax_form_summary(form)).data)

    @extend_schema(operation_id="tax_form_create",
                   summary="File a W-9 or W-8BEN (it replaces the one on file); stored "
                           "encrypted", request=InputSerializer,
                   responses={201: TaxFormSummarySerializer, **errors(400, 401, 429)},
                   tags=TAGS)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        form = tax.tax_form_submit(user=user_of(request), kind=data.validated_data["kind"],
                                   data=data.validated_data["form"])
        return Response(TaxFormSummarySerializer(tax.tax_form_summary(form)).data,
                        status=status.HTTP_201_CREATED)
