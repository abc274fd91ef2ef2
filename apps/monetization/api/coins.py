"""The coins, gifts and tips API (thin: services/coins.py, services/gifts.py and
coin_selectors.py do the work). Amounts are strict: whole JSON numbers only (no strings,
floats or booleans), within range; refusals come in the error shape, in words."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.templatetags.static import static
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import session_key_of, user_of
from apps.accounts.models import User
from apps.content.selectors import get_post_for
from apps.core.api.schema import ErrorDocs
from apps.core.idempotency import PARAMETER as IDEMPOTENCY_KEY
from apps.core.idempotency import idempotency_key
from apps.core.ids import id_or_404, parse_id
from apps.core.pagination import IdCursorPagination
from apps.monetization import coin_selectors as selectors
from apps.monetization.eligibility import may_use_coins
from apps.monetization.models import CoinPurchase, GiftSend
from apps.monetization.services import coins as coin_services
from apps.monetization.services import gifts as gift_services
from apps.social.selectors import get_graph_target_for

TAGS = ["coins"]
# Artwork for the default catalogue's emoji (static/img/gifts/).
DEFAULT_ART = {"🌹": "rose", "💖": "heart", "✨": "sparkles", "🍦": "ice-cream",
               "🏆": "trophy", "🚀": "rocket", "🌟": "star-shower"}
errors = ErrorDocs({
    400: "Invalid input: an amount that is not a whole number in range, an unknown "
         "currency, a tip to yourself.",
    403: "Not allowed: under 18, an account that cannot use or receive coins, a block, "
         "spending paused after a chargeback.",
    404: "No such pack, gift, purchase, post or user, or not yours / not visible to you.",
    409: "Not enough coins.",
    422: "This Idempotency-Key was already used for a different request.",
    429: "Throttled, or over a velocity limit (purchases, coins given per hour or day).",
})
POST_ID = OpenApiParameter("post_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The post's id (a string).")
PURCHASE_ID = OpenApiParameter("purchase_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                               description="Your purchase's id (a string).")
USERNAME = OpenApiParameter("username", OpenApiTypes.STR, OpenApiParameter.PATH,
                            description="The creator's username (case-insensitive).")


@extend_schema_field({"type": "integer", "minimum": 1,
                      "maximum": gift_services.MAX_TIP_COINS})
class CoinsField(serializers.Field):  # type: ignore[type-arg]
    """A whole number of coins as a JSON number: "5", 5.0, 5.5, true and 10^13 are refused
    (DRF's IntegerField would take the string "5" and 5.0)."""

    def to_internal_value(self, data: Any) -> int:
        if type(data) is not int:
            raise serializers.ValidationError("A whole number of coins (a JSON integer).")
        if not 0 < data <= gift_services.MAX_TIP_COINS:
            raise serializers.ValidationError(
                f"From 1 to {gift_services.MAX_TIP_COINS:,} coins.")
        return data

    def to_representation(self, value: Any) -> int:
        return int(value)


class IdStringField(serializers.CharField):
    """An id as a string (or a JSON integer); never a boolean or a float."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, str | int):
            raise serializers.ValidationError("An id, as a string.")
        value = parse_id(str(data))
        if value is None:
            raise serializers.ValidationError("Not an id.")
        return value


class WalletSerializer(serializers.Serializer[Any]):
    balance = serializers.IntegerField(help_text="Coins you can spend now.")
    can_use_coins = serializers.BooleanField()
    refusal = serializers.CharField(allow_blank=True,
                                    help_text="Why you can't buy or send coins, in words.")


class PackSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    name = serializers.CharField()
    coins = serializers.IntegerField()
    price_minor = serializers.IntegerField(help_text="In the currency's minor unit (cents).")
    currency = serializers.CharField()


class GiftSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    name = serializers.CharField()
    coins = serializers.IntegerField()
    emoji = serializers.CharField()
    animation = serializers.CharField()
    animation_url = serializers.SerializerMethodField()

    def get_animation_url(self, gift: Any) -> str:
        """The gift's artwork: its uploaded file, else ours for a default gift's emoji
        (an emoji needs a font the device may lack), else "" (show the emoji)."""
        if gift.animation_file:
            return str(gift.animation_file.url)
        default = DEFAULT_ART.get(gift.emoji)
        return static(f"img/gifts/{default}.svg") if default else ""


class PurchaseSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    pack_id = serializers.CharField()
    coins = serializers.IntegerField()
    price_minor = serializers.IntegerField()
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=CoinPurchase.Status.choices)
    status_text = serializers.CharField(source="get_status_display")
    failure_reason = serializers.CharField()
    next_action_url = serializers.CharField()
    created_at = serializers.DateTimeField()


class PurchaseStartedSerializer(PurchaseSerializer):
    """A purchase just started, for its buyer: with Stripe, what Stripe.js needs to confirm
    it in the browser (`Stripe(publishable_key).elements({clientSecret})`,
    `confirmPayment`)."""

    client_secret = serializers.SerializerMethodField(
        help_text="The PaymentIntent's client_secret while the payment waits for you to "
                  "confirm it with Stripe.js; empty otherwise (follow next_action_url, or "
                  "wait). Keep it to yourself: never log it or put it in a URL.")
    publishable_key = serializers.SerializerMethodField(
        help_text="The Stripe publishable key for Stripe.js, with a client_secret.")

    def get_client_secret(self, purchase: Any) -> str:
        return str(self.context.get("client_secret", ""))

    def get_publishable_key(self, purchase: Any) -> str:
        return settings.SWIPEME_STRIPE_PUBLISHABLE_KEY if self.get_client_secret(purchase) else ""


class SendSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    kind = serializers.CharField(help_text='"gift" or "tip".')
    coins = serializers.IntegerField()
    gift = GiftSerializer(allow_null=True)
    post_id = serializers.CharField(allow_null=True)
    live_id = serializers.CharField(allow_null=True)
    recipient = serializers.CharField(source="recipient.username")
    created_at = serializers.DateTimeField()
    balance = serializers.SerializerMethodField()

    def get_balance(self, send: Any) -> int:
        return selectors.wallet_balance(send.sender_id)


class HistoryLineSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    at = serializers.DateTimeField()
    coins = serializers.IntegerField(help_text="Positive in, negative out.")
    what = serializers.CharField()


def _wallet(user: User) -> dict[str, Any]:
    refusal = may_use_coins(user)
    return {"balance": selectors.wallet_balance(user.pk), "can_use_coins": refusal is None,
            "refusal": refusal.message if refusal else ""}


class WalletApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="coins_wallet", summary="Your coin balance",
                   responses={200: WalletSerializer, **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response(WalletSerializer(_wallet(user_of(request))).data)


class PacksApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="coins_packs", summary="Coin packs on sale",
                   responses={200: PackSerializer(many=True), **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response(PackSerializer(selectors.packs_on_sale(), many=True).data)


class GiftsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="gifts_catalogue", summary="The gifts you can send",
                   responses={200: GiftSerializer(many=True), **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response(GiftSerializer(selectors.gifts_on_offer(), many=True).data)


class PurchasesApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination  # the schema documents the page (next, results)

    @extend_schema_serializer(component_name="CoinPurchaseInput")
    class InputSerializer(serializers.Serializer[Any]):
        pack_id = IdStringField()
        payment_method = serializers.CharField(
            max_length=coin_services.PAYMENT_METHOD_MAX, required=False, allow_blank=True,
            default="",
            help_text="A payment-method token (the local provider's test cards: pm_card_ok, "
                      "pm_card_declined, pm_card_3ds, pm_card_dispute). With Stripe it may "
                      "be left out: you confirm in the browser with Stripe.js and the "
                      "answer's client_secret.")
        currency = serializers.CharField(required=False, max_length=8,
                                         help_text="If given, must be the pack's currency.")
        return_url = serializers.CharField(required=False, max_length=500, allow_blank=True)

    @extend_schema(operation_id="coins_purchases_list", summary="Your coin purchases",
                   responses={200: PurchaseSerializer(many=True), **errors(400, 401, 429)},
                   tags=TAGS)
    def get(self, request: Request) -> Response:
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(selectors.purchases_of(user_of(request)), request,
                                           self)
        return paginator.get_paginated_response(PurchaseSerializer(page, many=True).data)

    @extend_schema(operation_id="coins_purchases_create",
                   summary="Buy a coin pack. The coins come when the provider confirms the "
                           "payment; poll the purchase (or first follow next_action_url, or "
                           "confirm with Stripe.js and client_secret).",
                   parameters=[IDEMPOTENCY_KEY], request=InputSerializer,
                   responses={201: PurchaseStartedSerializer, 200: PurchaseStartedSerializer,
                              **errors(400, 401, 403, 404, 422, 429)}, tags=TAGS)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        user = user_of(request)
        key = idempotency_key(request)
        before = (CoinPurchase.objects.filter(user_id=user.pk, idempotency_key=key).exists()
                  if key else False)
        currency = values.get("currency")
        purchase = coin_services.purchase_start(
            user=user, pack_id=values["pack_id"], payment_method=values["payment_method"],
            currency=currency.upper() if currency else None, key=key,
            session_key=session_key_of(request), return_url=values.get("return_url", ""))
        secret = coin_services.client_secret_of(purchase=purchase)
        return Response(PurchaseStartedSerializer(purchase,
                                                  context={"client_secret": secret}).data,
                        status=status.HTTP_200_OK if before else status.HTTP_201_CREATED)


class PurchaseApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="coins_purchase_retrieve", summary="One of your purchases",
                   parameters=[PURCHASE_ID],
                   responses={200: PurchaseSerializer, **errors(401, 404, 429)}, tags=TAGS)
    def get(self, request: Request, purchase_id: str) -> Response:
        purchase = selectors.get_purchase_for(
            user_of(request), purchase_id=id_or_404(purchase_id, selectors.PURCHASE_NOT_FOUND))
        return Response(PurchaseSerializer(purchase).data)


class HistoryApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination

    @extend_schema(operation_id="coins_history",
                   summary="Coins in and out of your wallet, newest first",
                   responses={200: HistoryLineSerializer(many=True), **errors(400, 401, 429)},
                   tags=TAGS)
    def get(self, request: Request) -> Response:
        user = user_of(request)
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(selectors.history_of(user), request, self)
        lines = selectors.history_lines(user, list(page or []))
        return paginator.get_paginated_response(HistoryLineSerializer(lines, many=True).data)


def _sent(send: GiftSend, created: bool) -> Response:
    return Response(SendSerializer(send).data,
                    status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PostGiftApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="GiftSendInput")
    class InputSerializer(serializers.Serializer[Any]):
        gift_id = IdStringField()

    @extend_schema(operation_id="posts_gift_create",
                   summary="Send a gift on a post (its coins from your wallet to the creator)",
                   parameters=[POST_ID, IDEMPOTENCY_KEY], request=InputSerializer,
                   responses={201: SendSerializer, 200: SendSerializer,
                              **errors(400, 401, 403, 404, 409, 422, 429)}, tags=TAGS)
    def post(self, request: Request, post_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_of(request)
        post = get_post_for(viewer=user, post_id=id_or_404(post_id, "Post not found."))
        send, created = gift_services.gift_send(
            sender=user, gift_id=data.validated_data["gift_id"], post=post,
            key=idempotency_key(request), session_key=session_key_of(request))
        return _sent(send, created)


class TipInputSerializer(serializers.Serializer[Any]):
    coins = CoinsField()


class PostTipApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="posts_tip_create", summary="Tip the creator of a post",
                   parameters=[POST_ID, IDEMPOTENCY_KEY], request=TipInputSerializer,
                   responses={201: SendSerializer, 200: SendSerializer,
                              **errors(400, 401, 403, 404, 409, 422, 429)}, tags=TAGS)
    def post(self, request: Request, post_id: str) -> Response:
        data = TipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_of(request)
        post = get_post_for(viewer=user, post_id=id_or_404(post_id, "Post not found."))
        send, created = gift_services.tip_send(
            sender=user, recipient=post.author, coins=data.validated_data["coins"], post=post,
            key=idempotency_key(request), session_key=session_key_of(request))
        return _sent(send, created)


class ProfileTipApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="users_tip_create", summary="Tip a creator on their profile",
                   parameters=[USERNAME, IDEMPOTENCY_KEY], request=TipInputSerializer,
                   responses={201: SendSerializer, 200: SendSerializer,
                              **errors(400, 401, 403, 404, 409, 422, 429)}, tags=TAGS)
    def post(self, request: Request, username: str) -> Response:
        data = TipInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_of(request)
        target = get_graph_target_for(user, username=username)
        recipient = User.objects.get(pk=target.pk)
        send, created = gift_services.tip_send(
            sender=user, recipient=recipient, coins=data.validated_data["coins"],
            key=idempotency_key(request), session_key=session_key_of(request))
        return _sent(send, created)
