"""The creator's side of the marketplace (thin views over services/ and selectors.py): the
opt-in and media kit, their deals and each step they take. Brands use the advertiser portal.
Another person's deal is a 404, never told apart from a missing one."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.core.api.schema import ErrorDocs
from apps.core.errors import NotFoundError
from apps.core.ids import id_or_404, parse_id
from apps.core.pagination import IdCursorPagination
from apps.marketplace import selectors
from apps.marketplace.models import CreatorProfile, Deal
from apps.marketplace.services import deals, optin

TAGS = ["marketplace"]
errors = ErrorDocs(
    {
        400: "Invalid input: a fee that is not a whole number of cents in range, unknown topics, "
        "a draft without the brief's hashtags or already public (the message says which).",
        403: "Not eligible (under 18, not in good standing, below the follower threshold), or "
        "the brand's step, not yours.",
        404: "No such deal or post, or not yours.",
        409: "The deal is not at that step (already accepted, approved, paid...), the brand's "
        "balance does not cover the fee, or the payment hold expired.",
    }
)
DEAL_ID = OpenApiParameter(
    "deal_id", OpenApiTypes.STR, OpenApiParameter.PATH, description="The deal's id (a string)."
)
NOT_FOUND = "No such deal."


class KitSerializer(serializers.Serializer[CreatorProfile]):
    status = serializers.ChoiceField(choices=CreatorProfile.Status.choices)
    topics = serializers.ListField(child=serializers.CharField())
    rate_post_minor = serializers.IntegerField(allow_null=True, help_text="Cents, per post.")
    followers = serializers.IntegerField()
    average_views = serializers.IntegerField()
    completion_bp = serializers.IntegerField(help_text="Basis points of views.")
    engagement_bp = serializers.IntegerField(help_text="(Likes+comments+shares)/views, bp.")
    growth_bp = serializers.IntegerField(help_text="Net follower growth in the period, bp.")
    audience = serializers.JSONField(
        help_text="Countries and age bands, each group shown only above the minimum count."
    )
    top_posts = serializers.JSONField()
    kit_refreshed_at = serializers.DateTimeField(allow_null=True)


class MeSerializer(serializers.Serializer[Any]):
    eligible = serializers.BooleanField()
    refusal = serializers.CharField(allow_null=True, help_text="Why not, in words.")
    profile = KitSerializer(allow_null=True)


class MessageSerializer(serializers.Serializer[Any]):
    side = serializers.CharField()
    author = serializers.CharField(source="author.username", allow_null=True, default=None)
    body = serializers.CharField()
    created_at = serializers.DateTimeField()


class DealSerializer(serializers.Serializer[Deal]):
    id = serializers.CharField()
    brand = serializers.CharField(source="org.name")
    title = serializers.CharField()
    brief = serializers.CharField()
    deliverables = serializers.JSONField()
    fee_minor = serializers.IntegerField(help_text="Cents.")
    currency = serializers.CharField()
    platform_fee_bps = serializers.IntegerField()
    state = serializers.ChoiceField(choices=Deal.State.choices)
    state_text = serializers.CharField(source="get_state_display")
    change_rounds = serializers.IntegerField()
    draft_post_id = serializers.CharField(allow_null=True)
    creator_paid_micros = serializers.IntegerField()
    ended_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class DealDetailSerializer(DealSerializer):
    messages = serializers.SerializerMethodField()

    @extend_schema_field(MessageSerializer(many=True))
    def get_messages(self, deal: Deal) -> Any:
        return MessageSerializer(selectors.messages_of(deal), many=True).data


def _deal(request: Request, deal_id: str) -> Response:
    deal = selectors.deal_for(user_of(request), id_or_404(deal_id, NOT_FOUND))
    return Response(DealDetailSerializer(deal).data)


class MarketplaceProfileInputSerializer(serializers.Serializer[Any]):
    topics = serializers.JSONField(required=False, help_text="Up to 5 onboarding topics.")
    rate_post_minor = serializers.JSONField(
        required=False, help_text="Cents per post, a JSON integer, or null."
    )
    status = serializers.JSONField(required=False, help_text="active or paused.")


class MeApi(APIView):
    permission_classes = [IsAuthenticated]
    InputSerializer = MarketplaceProfileInputSerializer

    def _me(self, request: Request) -> Response:
        user = user_of(request)
        profile = CreatorProfile.objects.filter(user_id=user.pk).first()
        refusal = optin.creator_refusal(user)
        return Response(
            MeSerializer({"eligible": refusal is None, "refusal": refusal, "profile": profile}).data
        )

    @extend_schema(
        operation_id="marketplace_me",
        summary="Your place in the creator "
        "marketplace: whether you may join (and why not), your media kit",
        responses={200: MeSerializer, **errors(401)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        return self._me(request)

    @extend_schema(
        operation_id="marketplace_join",
        summary="Join the creator marketplace "
        "(or re-open to offers); the media kit is filled from your analytics",
        request=InputSerializer,
        responses={200: MeSerializer, **errors(400, 401, 403, 429)},
        tags=TAGS,
    )
    def post(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        optin.opt_in(
            user=user_of(request),
            topics=values.get("topics"),
            rate_post_minor=values.get("rate_post_minor"),
        )
        return self._me(request)

    @extend_schema(
        operation_id="marketplace_update",
        summary="Change your topics, rate or whether you take offers",
        request=InputSerializer,
        responses={200: MeSerializer, **errors(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def patch(self, request: Request) -> Response:
        body = self.InputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        optin.profile_update(user=user_of(request), **body.validated_data)
        return self._me(request)


class DealsApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination  # the schema documents the page (next, results)

    @extend_schema(
        operation_id="marketplace_deals_list",
        summary="Your deals, newest first",
        responses={200: DealSerializer(many=True), **errors(400, 401)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(
            selectors.deals_of_creator(user_of(request)), request, self
        )
        return paginator.get_paginated_response(
            DealSerializer(page or [], many=True).data  # type: ignore[arg-type]
        )


class DealApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="marketplace_deal",
        summary="One of your deals, with its messages",
        parameters=[DEAL_ID],
        responses={200: DealDetailSerializer, **errors(401, 404)},
        tags=TAGS,
    )
    def get(self, request: Request, deal_id: str) -> Response:
        return _deal(request, deal_id)


class StepInputSerializer(serializers.Serializer[Any]):
    fee_minor = serializers.JSONField(required=False, help_text="counter: your fee in cents.")
    post_id = serializers.CharField(required=False, help_text="draft: your post's id.")
    reason = serializers.JSONField(required=False, help_text="decline, cancel, dispute.")
    body = serializers.JSONField(required=False, help_text="message: the text.")


STEPS = ("accept", "decline", "counter", "draft", "publish", "cancel", "dispute", "message")


class DealStepApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="marketplace_deal_step",
        summary="Take a step on your deal: accept, decline, counter (fee_minor), draft "
        "(post_id: your draft or private post), publish (the approved draft goes "
        "live labelled and you are paid), cancel, dispute (reason), message (body)",
        parameters=[
            DEAL_ID,
            OpenApiParameter("step", OpenApiTypes.STR, OpenApiParameter.PATH, enum=list(STEPS)),
        ],
        request=StepInputSerializer,
        responses={200: DealDetailSerializer, **errors(400, 401, 403, 404, 409, 429)},
        tags=TAGS,
    )
    def post(self, request: Request, deal_id: str, step: str) -> Response:
        if step not in STEPS:
            raise NotFoundError("No such step.", code="not_found")
        body = StepInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = body.validated_data
        user, pk = user_of(request), id_or_404(deal_id, NOT_FOUND)
        if step == "accept":
            deals.deal_accept(user=user, deal_id=pk)
        elif step == "decline":
            deals.deal_decline(user=user, deal_id=pk, reason=values.get("reason", ""))
        elif step == "counter":
            deals.deal_counter(user=user, deal_id=pk, fee_minor=values.get("fee_minor"))
        elif step == "draft":
            post_id = parse_id(str(values.get("post_id", "")))
            deals.deal_submit_draft(user=user, deal_id=pk, post_id=post_id or 0)
        elif step == "publish":
            deals.deal_publish(user=user, deal_id=pk)
        elif step == "cancel":
            deals.deal_cancel(user=user, deal_id=pk, reason=values.get("reason", ""))
        elif step == "dispute":
            deals.deal_dispute(user=user, deal_id=pk, reason=values.get("reason"))
        else:
            deals.deal_message(user=user, deal_id=pk, body=values.get("body"))
        return _deal(request, deal_id)
