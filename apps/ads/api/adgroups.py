"""Advertisers' ad groups over JSON, for their own tools (the portal's forms call the same
services): `POST /api/v1/ads/campaigns/<id>/adgroups` creates one, `GET` and `PATCH
/api/v1/ads/adgroups/<id>` read and change one, targeting included (countries, regions,
languages, age bands, interests, devices, content topics, custom audiences, lookalikes).

Thin: parse, find the group through the member's org (`selectors.ad_group_for`: another
org's id and an unknown id are the same 404), call `services.ad_groups`, answer. Every rule
(bounds, roles, the minors rules, topic keys) is the services'; their refusals are 4xx in the
API's error shape, in words."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.ads import selectors
from apps.ads.models import AdGroup
from apps.ads.services import ad_groups as services
from apps.ads.services.orgs import Action
from apps.core.api.schema import ErrorDocs
from apps.core.errors import ApplicationError
from apps.core.ids import id_or_404, parse_id
from apps.feed.topics import TOPICS

errors = ErrorDocs(
    {
        400: "Invalid input, in words per field: a bid or cap out of bounds, an unknown "
        "topic, interest, device or age band, targeting a restricted category or minors "
        "may not use, another account's audience.",
        401: "Not signed in.",
        403: "A member whose role cannot do this (analysts and billing members only read).",
        404: "No such campaign or ad group in the advertiser accounts you belong to.",
    }
)
TAGS = ["ads"]
CODES = 250  # at most this many values in a targeting list (as apps.ads.targeting)


def _codes(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=64),
        max_length=CODES,
        required=False,
        help_text=help_text + " Empty: any.",
    )


def _ids(help_text: str) -> serializers.ListField:
    return serializers.ListField(
        child=serializers.CharField(max_length=20),
        max_length=100,
        required=False,
        help_text=help_text,
    )


class AdGroupInSerializer(serializers.Serializer[Any]):
    """Every field of an ad group; a PATCH sends only what changes."""

    name = serializers.CharField(max_length=200)
    status = serializers.CharField(max_length=16, required=False, help_text="active or paused.")
    bid_strategy = serializers.CharField(
        max_length=16, help_text="cpm, cpc, cpv2s (per 2-second view) or target_cost."
    )
    bid_micros = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="The bid in micros of the account's currency (cpm: per 1,000 impressions).",
    )
    target_cost_micros = serializers.IntegerField(
        required=False, allow_null=True, help_text="target_cost: the cost per result wanted."
    )
    frequency_cap_day = serializers.IntegerField(required=False, allow_null=True)
    frequency_cap_week = serializers.IntegerField(required=False, allow_null=True)
    placements = serializers.ListField(
        child=serializers.CharField(max_length=16),
        max_length=10,
        required=False,
        help_text="for_you.",
    )
    hours_of_week = serializers.ListField(
        child=serializers.IntegerField(),
        max_length=168,
        required=False,
        help_text="Day-parting: 0 (Monday 00:00) to 167, in the account's time zone. "
        "Empty: always.",
    )
    countries = _codes("ISO 3166-1 alpha-2 codes.")
    regions = _codes("ISO 3166-2 codes (US-CA).")
    languages = _codes("Language codes (en, pt).")
    age_bands = _codes("13-17, 18-24, 25-34, 35-44, 45-54, 55+.")
    interests = _codes(
        "The viewers' interests (topics they chose, or recently watched videos about; "
        "signed-in adults only): " + ", ".join(TOPICS) + "."
    )
    devices = _codes("ios, android, web.")
    topics = _codes(
        "Content topics: the ad shows only between videos on one of them (contextual, "
        "so also to signed-out viewers and minors): " + ", ".join(TOPICS) + "."
    )
    custom_audience_ids = _ids("Custom audiences of this account.")
    lookalike_ids = _ids("Lookalike audiences of this account.")


class AdGroupPatchSerializer(AdGroupInSerializer):
    """The same fields, each optional: what the PATCH's schema documents."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class AdGroupOutSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    campaign_id = serializers.CharField()
    name = serializers.CharField()
    status = serializers.CharField()
    bid_strategy = serializers.CharField()
    bid_micros = serializers.IntegerField(allow_null=True)
    target_cost_micros = serializers.IntegerField(allow_null=True)
    frequency_cap_day = serializers.IntegerField(allow_null=True)
    frequency_cap_week = serializers.IntegerField(allow_null=True)
    placements = serializers.ListField(child=serializers.CharField())
    hours_of_week = serializers.ListField(child=serializers.IntegerField())
    countries = serializers.ListField(child=serializers.CharField())
    regions = serializers.ListField(child=serializers.CharField())
    languages = serializers.ListField(child=serializers.CharField())
    age_bands = serializers.ListField(child=serializers.CharField())
    interests = serializers.ListField(child=serializers.CharField())
    devices = serializers.ListField(child=serializers.CharField())
    topics = serializers.ListField(child=serializers.CharField())
    custom_audience_ids = serializers.ListField(child=serializers.CharField())
    lookalike_ids = serializers.ListField(child=serializers.CharField())


def group_out(group: AdGroup) -> dict[str, Any]:
    return {
        "id": str(group.pk),
        "campaign_id": str(group.campaign_id),
        "name": group.name,
        "status": group.status,
        "bid_strategy": group.bid_strategy,
        "bid_micros": group.bid_micros,
        "target_cost_micros": group.target_cost_micros,
        "frequency_cap_day": group.frequency_cap_day,
        "frequency_cap_week": group.frequency_cap_week,
        "placements": list(group.placements),
        "hours_of_week": list(group.hours_of_week),
        "countries": list(group.countries),
        "regions": list(group.regions),
        "languages": list(group.languages),
        "age_bands": list(group.age_bands),
        "interests": list(group.interests),
        "devices": list(group.devices),
        "topics": list(group.topics),
        "custom_audience_ids": [
            str(pk) for pk in group.custom_audiences.order_by("pk").values_list("pk", flat=True)
        ],
        "lookalike_ids": [
            str(pk) for pk in group.lookalikes.order_by("pk").values_list("pk", flat=True)
        ],
    }


def _changes(request: Request, *, partial: bool) -> dict[str, Any]:
    data = AdGroupInSerializer(data=request.data, partial=partial)
    data.is_valid(raise_exception=True)
    changes = dict(data.validated_data)
    bad: dict[str, list[str]] = {}
    for name in ("custom_audience_ids", "lookalike_ids"):
        if name in changes:
            ids = [parse_id(raw) for raw in changes[name]]
            if any(pk is None for pk in ids):
                bad[name] = ["Audience ids are ids of this account's audiences."]
            changes[name] = ids
    if bad:
        raise ApplicationError("Check the highlighted fields.", fields=bad)
    return changes


class CampaignAdGroupsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="ads_adgroups_create",
        summary="Create an ad group in a campaign",
        description="Admins and editors of the campaign's account. Targeting lists are "
        "checked and normalised (upper-case countries, lower-case topics, duplicates "
        "dropped); the answer is the group as saved.",
        request=AdGroupInSerializer,
        responses={201: AdGroupOutSerializer, **errors(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def post(self, request: Request, campaign_id: str) -> Response:
        campaign = selectors.campaign_for(
            request.user,
            id_or_404(campaign_id, "No such campaign."),
            Action.EDIT_CAMPAIGNS,
        )
        group = services.ad_group_create(
            user=request.user, campaign=campaign, **_changes(request, partial=False)
        )
        return Response(group_out(group), status=201)


class AdGroupApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="ads_adgroups_retrieve",
        summary="An ad group with its targeting",
        description="Every member of the group's account (any role).",
        responses={200: AdGroupOutSerializer, **errors(401, 404, 429)},
        tags=TAGS,
    )
    def get(self, request: Request, group_id: str) -> Response:
        group = selectors.ad_group_for(request.user, id_or_404(group_id, "No such ad group."))
        return Response(group_out(group))

    @extend_schema(
        operation_id="ads_adgroups_partial_update",
        summary="Change an ad group (any of its fields, targeting included)",
        description="Admins and editors. Only the fields sent change; a list sent replaces "
        "the list (send [] for any). Nothing changes when a field is refused.",
        request=AdGroupPatchSerializer,
        responses={200: AdGroupOutSerializer, **errors(400, 401, 403, 404, 429)},
        tags=TAGS,
    )
    def patch(self, request: Request, group_id: str) -> Response:
        group = selectors.ad_group_for(
            request.user, id_or_404(group_id, "No such ad group."), Action.EDIT_CAMPAIGNS
        )
        group = services.ad_group_update(
            user=request.user, group=group, **_changes(request, partial=True)
        )
        return Response(group_out(group))
