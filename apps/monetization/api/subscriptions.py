"""The subscriptions API (thin: services/subscriptions/ and subscription_selectors.py do
the work). Prices are strict whole JSON numbers of cents; refusals come in the error shape,
in words."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.core.api.schema import ErrorDocs
from apps.core.idempotency import PARAMETER as IDEMPOTENCY_KEY
from apps.core.idempotency import idempotency_key
from apps.core.ids import id_or_404
from apps.core.pagination import IdCursorPagination
from apps.monetization import subscription_selectors as selectors
from apps.monetization.api.coins import IdStringField
from apps.monetization.models.subscriptions import (
    TIER_MAX_MINOR,
    TIER_MIN_MINOR,
    TIER_NAME_MAX,
    TIER_PERKS_MAX,
    Subscription,
)
from apps.monetization.services import subscriptions as services

TAGS = ["subscriptions"]
errors = ErrorDocs({
    400: "Invalid input: a price that is not a whole number of cents in range, an unknown "
         "or unsupported currency, subscribing to yourself.",
    403: "Not allowed: under 18, an account that cannot pay or offer subscriptions, a "
         "block, payments paused after a chargeback.",
    404: "No such tier, subscription or user, or not yours / not visible to you.",
    409: "Already subscribed, a payment in progress, too many tiers, not resumable.",
    422: "This Idempotency-Key was already used for a different request.",
    429: "Throttled.",
})
USERNAME = OpenApiParameter("username", OpenApiTypes.STR, OpenApiParameter.PATH,
                            description="The creator's username (case-insensitive).")
TIER_ID = OpenApiParameter("tier_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="Your tier's id (a string).")
SUBSCRIPTION_ID = OpenApiParameter("subscription_id", OpenApiTypes.STR,
                                   OpenApiParameter.PATH,
                                   description="Your subscription's id (a string).")


@extend_schema_field({"type": "integer", "minimum": TIER_MIN_MINOR,
                      "maximum": TIER_MAX_MINOR})
class PriceField(serializers.Field):  # type: ignore[type-arg]
    """Whole cents as a JSON integer: "499", 4.99, true are refused; the range is the
    service's (its refusal says it in dollars)."""

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            raise serializers.ValidationError("A whole number of cents (a JSON integer).")
        return data

    def to_representation(self, value: Any) -> int:
        return int(value)


class TierSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    name = serializers.CharField()
    price_minor = serializers.IntegerField(help_text="Per month, in cents.")
    currency = serializers.CharField()
    price_text = serializers.SerializerMethodField()
    perks = serializers.CharField()
    active = serializers.BooleanField()

    def get_price_text(self, tier: Any) -> str:
        return services.price_words(tier.price_minor, tier.currency)


class SubscriptionSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    creator = serializers.CharField(source="creator.username")
    tier = TierSerializer()
    price_minor = serializers.IntegerField(help_text="What you pay a month, in cents.")
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=Subscription.Status.choices)
    status_text = serializers.SerializerMethodField(help_text="Where it stands, in words.")
    current_period_start = serializers.DateTimeField(allow_null=True)
    current_period_end = serializers.DateTimeField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    next_retry_at = serializers.DateTimeField(allow_null=True)
    grace_until = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()

    def get_status_text(self, subscription: Any) -> str:
        return selectors.status_words(subscription)


class StartedSerializer(serializers.Serializer[Any]):
    subscription = SubscriptionSerializer()
    payment_status = serializers.CharField(
        help_text="requires_action (send the payer to next_action_url) or processing.")
    next_action_url = serializers.CharField()


class CreatorTiersSerializer(serializers.Serializer[Any]):
    creator = serializers.CharField(source="creator.username")
    tiers = TierSerializer(many=True)
    subscription = SubscriptionSerializer(allow_null=True,
                                          help_text="Your live subscription to them, if any.")


class CreatorTiersApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="subscription_tiers_of_creator",
                   summary="A creator's subscription tiers on offer",
                   parameters=[USERNAME],
                   responses={200: CreatorTiersSerializer, **errors(404, 429)}, tags=TAGS)
    def get(self, request: Request, username: str) -> Response:
        viewer = request.user if request.user.is_authenticated else None
        found = selectors.tiers_for(viewer, username=username)  # type: ignore[arg-type]
        return Response(CreatorTiersSerializer(found).data)


class MyTiersApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="SubscriptionTierInput")
    class InputSerializer(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=TIER_NAME_MAX)
        price_minor = PriceField(help_text="Per month, in cents.")
        currency = serializers.CharField(max_length=8, required=False, default="USD")
        perks = serializers.CharField(max_length=TIER_PERKS_MAX, required=False,
                                      allow_blank=True, default="")

    @extend_schema(operation_id="my_subscription_tiers", summary="Your tiers",
                   responses={200: TierSerializer(many=True), **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response(TierSerializer(selectors.own_tiers(user_of(request)), many=True).data)

    @extend_schema(operation_id="my_subscription_tiers_create", summary="Offer a tier",
                   request=InputSerializer,
                   responses={201: TierSerializer, **errors(400, 401, 403, 409, 429)},
                   tags=TAGS)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tier = services.tier_create(creator=user_of(request), **data.validated_data)
        return Response(TierSerializer(tier).data, status=status.HTTP_201_CREATED)


class MyTierApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="SubscriptionTierPatch")
    class PatchSerializer(serializers.Serializer[Any]):
        name = serializers.CharField(max_length=TIER_NAME_MAX, required=False)
        price_minor = PriceField(required=False,
                                 help_text="Per month, in cents; for new subscribers.")
        currency = serializers.CharField(max_length=8, required=False)
        perks = serializers.CharField(max_length=TIER_PERKS_MAX, required=False,
                                      allow_blank=True)
        active = serializers.BooleanField(required=False,
                                          help_text="false archives it (no new subscribers).")

    @extend_schema(operation_id="my_subscription_tier_update", summary="Change your tier",
                   parameters=[TIER_ID], request=PatchSerializer,
                   responses={200: TierSerializer, **errors(400, 401, 403, 404, 409, 429)},
                   tags=TAGS)
    def patch(self, request: Request, tier_id: str) -> Response:
        tier_pk = id_or_404(tier_id, services.TIER_NOT_FOUND)
        data = self.PatchSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        tier = services.tier_update(creator=user_of(request), tier_id=tier_pk,
                                    **data.validated_data)
        return Response(TierSerializer(tier).data)


class SubscriptionsApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination  # the schema documents the page (next, results)

    @extend_schema_serializer(component_name="SubscribeInput")
    class InputSerializer(serializers.Serializer[Any]):
        tier_id = IdStringField()
        payment_method = serializers.CharField(
            max_length=64, help_text="A payment-method token, kept for the renewals (the "
            "local provider's test cards: pm_card_ok, pm_card_declined, pm_card_3ds).")
        return_url = serializers.CharField(required=False, max_length=500, allow_blank=True)

    @extend_schema(operation_id="subscriptions_list", summary="Your subscriptions",
                   responses={200: SubscriptionSerializer(many=True), **errors(400, 401, 429)},
                   tags=TAGS)
    def get(self, request: Request) -> Response:
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(selectors.subscriptions_of(user_of(request)),
                                           request, self)
        return paginator.get_paginated_response(SubscriptionSerializer(page, many=True).data)

    @extend_schema(operation_id="subscriptions_create",
                   summary="Subscribe to a creator's tier. It starts when the provider "
                           "confirms the first payment (follow next_action_url first when "
                           "given); poll the subscription.",
                   parameters=[IDEMPOTENCY_KEY], request=InputSerializer,
                   responses={201: StartedSerializer, 200: StartedSerializer,
                              **errors(400, 401, 403, 404, 409, 422, 429)}, tags=TAGS)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = user_of(request)
        client_key = idempotency_key(request)
        key = f"subscribe:{user.pk}:{client_key}" if client_key else \
            f"subscribe:{user.pk}:{services.new_key()}"
        before = Subscription.objects.filter(key=key).exists()
        subscription, payment = services.subscribe(
            subscriber=user, tier_id=values["tier_id"],
            payment_method=values["payment_method"], key=key,
            return_url=values.get("return_url", ""))
        body = {"subscription": subscription, "payment_status": payment.status,
                "next_action_url": payment.next_action_url}
        return Response(StartedSerializer(body).data,
                        status=status.HTTP_200_OK if before else status.HTTP_201_CREATED)


class SubscriptionApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="subscription_retrieve", summary="One of your subscriptions",
                   parameters=[SUBSCRIPTION_ID],
                   responses={200: SubscriptionSerializer, **errors(401, 404, 429)}, tags=TAGS)
    def get(self, request: Request, subscription_id: str) -> Response:
        found = selectors.get_subscription_for(
            user_of(request),
            subscription_id=id_or_404(subscription_id, services.SUBSCRIPTION_NOT_FOUND))
        return Response(SubscriptionSerializer(found).data)


class SubscriptionCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="subscription_cancel",
                   summary="Stop renewing (access lasts to the end of the paid month)",
                   parameters=[SUBSCRIPTION_ID], request=None,
                   responses={200: SubscriptionSerializer, **errors(401, 404, 409, 429)},
                   tags=TAGS)
    def post(self, request: Request, subscription_id: str) -> Response:
        found = services.cancel(
            subscriber=user_of(request),
            subscription_id=id_or_404(subscription_id, services.SUBSCRIPTION_NOT_FOUND))
        return Response(SubscriptionSerializer(found).data)


class SubscriptionResumeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="subscription_resume",
                   summary="Undo a cancellation before the paid month ends",
                   parameters=[SUBSCRIPTION_ID], request=None,
                   responses={200: SubscriptionSerializer, **errors(401, 403, 404, 409, 429)},
                   tags=TAGS)
    def post(self, request: Request, subscription_id: str) -> Response:
        found = services.resume(
            subscriber=user_of(request),
            subscription_id=id_or_404(subscription_id, services.SUBSCRIPTION_NOT_FOUND))
        return Response(SubscriptionSerializer(found).data)
