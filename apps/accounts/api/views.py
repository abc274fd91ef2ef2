"""The signed-in user's own account: profile, username, avatar, sessions and devices,
deactivation and deletion, data exports. Thin: parse, call a service or selector, render."""

from __future__ import annotations

import functools
import importlib.resources
from datetime import datetime
from typing import Any

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core.files.storage import default_storage
from django.urls import reverse
from drf_spectacular.utils import (
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import hooks, selectors, services
from apps.accounts.api.request import session_key_of, user_of
from apps.accounts.models import DataExport, Device, User
from apps.accounts.reauthentication import RecentlyAuthenticated
from apps.core.api.schema import ErrorDocs
from apps.core.ids import id_or_404
from apps.core.pagination import IdCursorPagination


def _id(value: int) -> int:
    """Path ids beyond bigint are simply not found (never a database error)."""
    return id_or_404(value)


_errors = ErrorDocs({404: "Not found.", 429: "Throttled or in a cool-down."})


_REAUTHENTICATION = (
    "Not authenticated, or (code `reauthentication_required`) not re-authenticated within "
    "the last 5 minutes: POST /_allauth/app/v1/auth/reauthenticate {\"password\"} (or "
    "auth/2fa/reauthenticate {\"code\"}; /_allauth/browser/v1/... with the session "
    "cookie), then repeat the request."
)

# Errors of an endpoint behind RecentlyAuthenticated: its 401 also means "confirm it is you".
_reauthenticated_errors = _errors.but({401: _REAUTHENTICATION})


# --- Profile ------------------------------------------------------------------------------


@extend_schema_field(
    {"anyOf": [{"type": "string", "format": "email"}, {"type": "string", "maxLength": 0}],
     "description": "The primary e-mail address; empty when the account has none."}
)
class _EmailOrEmptyField(serializers.CharField):
    """An account can be left with no address (its last one removed), so `""` is valid."""


class MeOutputSerializer(serializers.ModelSerializer[User]):
    id = serializers.CharField(read_only=True)
    avatar = serializers.SerializerMethodField()
    is_minor = serializers.BooleanField(read_only=True)
    email = _EmailOrEmptyField(read_only=True)
    username_change_available_at = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id", "username", "email", "date_of_birth", "display_name", "bio", "links",
            "is_private", "is_verified", "is_minor", "avatar", "country", "language",
            "followers_count",
            "following_count", "date_joined", "username_changed_at",
            "username_change_available_at", "deactivated_at", "deletion_scheduled_for",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {"type": "object", "nullable": True, "additionalProperties": {"type": "string"},
         "description": "URLs by size: original, 48, 100, 320, 720 (sizes appear once "
                        "rendered)."}
    )
    def get_avatar(self, user: User) -> dict[str, str] | None:
        if not user.avatar:
            return None
        urls = {"original": default_storage.url(user.avatar.name)}
        urls.update({side: default_storage.url(name) for side, name in user.avatar_sizes.items()})
        return urls

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_username_change_available_at(self, user: User) -> datetime | None:
        if user.username_changed_at is None:
            return None
        when: datetime = user.username_changed_at + settings.SWIPEME_USERNAME_CHANGE_COOLDOWN
        return when


@functools.cache
def _iso_countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, from the IANA table the tzdata package ships."""
    table = importlib.resources.files("tzdata.zoneinfo").joinpath("iso3166.tab")
    return frozenset(line[:2] for line in table.read_text("utf-8").splitlines()
                     if line[:1].isalpha())


class MeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="MeInput")
    class InputSerializer(serializers.Serializer[Any]):
        display_name = serializers.CharField(max_length=50, allow_blank=True, required=False)
        bio = serializers.CharField(max_length=160, allow_blank=True, required=False)
        links = serializers.ListField(
            child=serializers.CharField(max_length=services.MAX_LINK_LENGTH),
            max_length=services.MAX_LINKS, required=False,
        )
        is_private = serializers.BooleanField(required=False)
        country = serializers.CharField(
            max_length=2, allow_blank=True, required=False,
            help_text='ISO 3166-1 alpha-2, e.g. "GB"; "" for unknown (licensed sounds that '
                      "hold only in some countries are then muted for you).")
        language = serializers.CharField(
            max_length=16, allow_blank=True, required=False,
            help_text='A BCP 47 language tag such as "en" or "pt-BR"; "" for unknown.')

        def validate_country(self, value: str) -> str:
            code = value.strip().upper()
            if code and code not in _iso_countries():
                raise serializers.ValidationError("Not an ISO 3166-1 alpha-2 country code.")
            return code

    @extend_schema(responses={200: MeOutputSerializer, **_errors(401)}, tags=["me"])
    def get(self, request: Request) -> Response:
        return Response(MeOutputSerializer(user_of(request)).data)

    @extend_schema(
        request=InputSerializer,
        responses={200: MeOutputSerializer, **_errors(400, 401, 429)},
        tags=["me"],
        description="Edit the public profile. Email, date of birth and the verified badge "
                    "are not editable here; unknown fields are ignored.",
    )
    def patch(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_profile_update(user=user_of(request), **serializer.validated_data)
        return Response(MeOutputSerializer(user).data)


class UsernameApi(APIView):
    # A thief could rename the owner and take the old name; the cool-down blocks the way back.
    permission_classes = [RecentlyAuthenticated]

    @extend_schema_serializer(component_name="UsernameInput")
    class InputSerializer(serializers.Serializer[Any]):
        username = serializers.CharField(max_length=64)

    @extend_schema(
        request=InputSerializer,
        responses={200: MeOutputSerializer, **_reauthenticated_errors(400, 401, 409, 429)},
        tags=["me"],
        description="Change the username (same rules as at sign-up). After a change the "
                    "next one is possible only after the cool-down (429 until then). Needs "
                    "a re-authentication within the last 5 minutes (401 "
                    "`reauthentication_required` otherwise).",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.user_username_change(
            user=user_of(request), username=serializer.validated_data["username"]
        )
        return Response(MeOutputSerializer(user).data)


class AvatarApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser]

    @extend_schema_serializer(component_name="AvatarInput")
    class InputSerializer(serializers.Serializer[Any]):
        file = serializers.FileField(allow_empty_file=False)

    @extend_schema(
        request={"multipart/form-data": InputSerializer},
        responses={202: MeOutputSerializer, **_errors(400, 401, 413, 429)},
        tags=["me"],
        description="Upload a new avatar (JPEG, PNG, WebP or GIF; at most 10 MB and "
                    "8000x8000). Square WebP sizes 48/100/320/720 appear in `avatar` once "
                    "rendered in the background.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        upload = serializer.validated_data["file"]
        user = services.user_avatar_set(user=user_of(request), file=upload, size=upload.size)
        return Response(MeOutputSerializer(user).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: MeOutputSerializer, **_errors(401, 429)}, tags=["me"])
    def delete(self, request: Request) -> Response:
        user = services.user_avatar_delete(user=user_of(request))
        return Response(MeOutputSerializer(user).data)


# --- Sessions and devices -----------------------------------------------------------------


class DeviceOutputSerializer(serializers.ModelSerializer[Device]):
    id = serializers.CharField(read_only=True)
    has_push_token = serializers.SerializerMethodField()

    class Meta:
        model = Device
        fields = ["id", "platform", "app_version", "device_identifier", "user_agent", "ip",
                  "has_push_token", "created_at", "last_seen_at"]
        read_only_fields = fields

    def get_has_push_token(self, device: Device) -> bool:
        return bool(device.push_token)


class SessionListApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="SessionListOutput")
    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.CharField()
        ip = serializers.IPAddressField()
        user_agent = serializers.CharField()
        created_at = serializers.DateTimeField()
        last_seen_at = serializers.DateTimeField()
        is_current = serializers.BooleanField()
        device = DeviceOutputSerializer(allow_null=True)

    class Pagination(IdCursorPagination):
        ordering = "-id"

    @extend_schema(responses={200: OutputSerializer(many=True), **_errors(401)},
                   tags=["me: sessions"])
    def get(self, request: Request) -> Response:
        user = user_of(request)
        paginator = self.Pagination()
        page: list[UserSession] = paginator.paginate_queryset(
            selectors.user_sessions_for(user), request, view=self
        ) or []
        devices = selectors.devices_by_session_key(
            user=user, session_keys=[s.session_key for s in page]
        )
        current = session_key_of(request)
        rows = [
            {"id": s.pk, "ip": s.ip, "user_agent": s.user_agent, "created_at": s.created_at,
             "last_seen_at": s.last_seen_at, "is_current": s.session_key == current,
             "device": devices.get(s.session_key)}
            for s in page
        ]
        return paginator.get_paginated_response(self.OutputSerializer(rows, many=True).data)


# drf-spectacular derives the paginated envelope from the view's pagination_class.
SessionListApi.pagination_class = SessionListApi.Pagination  # type: ignore[attr-defined]


class SessionDetailApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes: list[Any] = []  # securing an account is never throttled

    @extend_schema(responses={204: None, **_errors(401, 404)}, tags=["me: sessions"],
                   description="End one of your sessions; its token stops working at once.")
    def delete(self, request: Request, session_id: int) -> Response:
        services.user_session_end(user=user_of(request), session_id=_id(session_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SessionRevokeAllApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes: list[Any] = []  # securing an account is never throttled

    @extend_schema_serializer(component_name="SessionRevokeAllInput")
    class InputSerializer(serializers.Serializer[Any]):
        keep_current = serializers.BooleanField(default=True)

    @extend_schema_serializer(component_name="SessionRevokeAllOutput")
    class OutputSerializer(serializers.Serializer[Any]):
        ended = serializers.IntegerField()

    @extend_schema(request=InputSerializer,
                   responses={200: OutputSerializer, **_errors(400, 401)},
                   tags=["me: sessions"],
                   description="End all your sessions; with keep_current (the default) the "
                               "one making this request survives.")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        keep = session_key_of(request) if serializer.validated_data["keep_current"] else None
        ended = services.user_sessions_end_all(user=user_of(request), keep_session_key=keep)
        return Response(self.OutputSerializer({"ended": ended}).data)


class DeviceListApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination

    @extend_schema(responses={200: DeviceOutputSerializer(many=True), **_errors(401)},
                   tags=["me: sessions"])
    def get(self, request: Request) -> Response:
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(selectors.devices_for(user_of(request)), request,
                                           view=self)
        return paginator.get_paginated_response(DeviceOutputSerializer(page, many=True).data)


class DeviceDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="DeviceDetailInput")
    class InputSerializer(serializers.Serializer[Any]):
        push_token = serializers.CharField(max_length=512, allow_blank=True)

    @extend_schema(request=InputSerializer,
                   responses={200: DeviceOutputSerializer, **_errors(400, 401, 403, 404, 429)},
                   tags=["me: sessions"],
                   description="Set (or clear, with an empty string) the push token of "
                               "the device making this request (its own session's device; "
                               "any other device of yours is a 403).")
    def patch(self, request: Request, device_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        device = services.device_update(user=user_of(request), device_id=_id(device_id),
                                        push_token=serializer.validated_data["push_token"],
                                        session_key=session_key_of(request))
        return Response(DeviceOutputSerializer(device).data)


# --- Deactivation and deletion ------------------------------------------------------------


class DeactivateApi(APIView):
    permission_classes = [RecentlyAuthenticated]
    throttle_classes: list[Any] = []  # securing an account is never throttled

    @extend_schema(request=None,
                   responses={200: MeOutputSerializer, **_reauthenticated_errors(401)},
                   tags=["me"],
                   description="Hide the account and end every session. Logging in again "
                               "reactivates it. Needs a re-authentication within the last "
                               "5 minutes (401 `reauthentication_required` otherwise); "
                               "ending other sessions (/me/sessions) needs none.")
    def post(self, request: Request) -> Response:
        user = services.user_deactivate(user=user_of(request))
        return Response(MeOutputSerializer(user).data)


class DeleteApi(APIView):
    permission_classes = [RecentlyAuthenticated]

    class InputSerializer(serializers.Serializer[dict[str, Any]]):
        password = serializers.CharField(max_length=4096, required=False, allow_blank=True,
                                         trim_whitespace=False)

    @extend_schema(request=InputSerializer,
                   responses={200: MeOutputSerializer,
                              **_reauthenticated_errors(400, 401, 429)},
                   tags=["me"],
                   description="Schedule the account's deletion after the grace period and "
                               "end every session. Logging in during the grace period (or "
                               "POST /me/delete/cancel) cancels it. Needs a "
                               "re-authentication within the last 5 minutes (401 "
                               "`reauthentication_required` otherwise) and, for an account "
                               "with a password, that password in the body.")
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_deletion_schedule(
            user=user_of(request), password=data.validated_data.get("password")
        )
        return Response(MeOutputSerializer(user).data)


class DeleteNoticesApi(APIView):
    permission_classes = [IsAuthenticated]

    class DeletionNoticesOutputSerializer(serializers.Serializer[dict[str, Any]]):
        notices = serializers.ListField(child=serializers.CharField())

    @extend_schema(responses={200: DeletionNoticesOutputSerializer, **_errors(401, 429)},
                   tags=["me"],
                   description="What deleting the account would lose or needs done first, "
                               "in words, to show before POST /me/delete (e.g. coins are "
                               "lost, unpaid earnings should be paid out first). Empty when "
                               "nothing needs saying.")
    def get(self, request: Request) -> Response:
        notices = hooks.deletion_notices(user_id=user_of(request).pk)
        return Response(self.DeletionNoticesOutputSerializer({"notices": notices}).data)


class DeleteCancelApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: MeOutputSerializer, **_errors(401, 429)},
                   tags=["me"])
    def post(self, request: Request) -> Response:
        user = services.user_deletion_cancel(user=user_of(request))
        return Response(MeOutputSerializer(user).data)


# --- Data exports -------------------------------------------------------------------------


class DataExportOutputSerializer(serializers.ModelSerializer[DataExport]):
    id = serializers.CharField(read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = DataExport
        fields = ["id", "state", "size_bytes", "created_at", "finished_at", "expires_at",
                  "download_url"]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_download_url(self, export: DataExport) -> str | None:
        if export.state != DataExport.State.READY:
            return None
        path = reverse("accounts-export-download", kwargs={"export_id": export.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request is not None else path


class DataExportCreateApi(APIView):
    # Everything about the account in one file: not for whoever holds a stolen token.
    permission_classes = [RecentlyAuthenticated]

    @extend_schema(request=None,
                   responses={202: DataExportOutputSerializer,
                              **_reauthenticated_errors(401, 409, 429)},
                   tags=["me: data"],
                   description="Start an export of your data (a ZIP). One at a time; the "
                               "download expires after 7 days. Requesting it and "
                               "downloading it each need a re-authentication within the "
                               "last 5 minutes (401 `reauthentication_required` "
                               "otherwise).")
    def post(self, request: Request) -> Response:
        export = services.data_export_request(user=user_of(request))
        return Response(DataExportOutputSerializer(export, context={"request": request}).data,
                        status=status.HTTP_202_ACCEPTED)


class DataExportDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: DataExportOutputSerializer, **_errors(401, 404)},
                   tags=["me: data"])
    def get(self, request: Request, export_id: int) -> Response:
        export = selectors.get_data_export_for(user_of(request), _id(export_id))
        return Response(DataExportOutputSerializer(export, context={"request": request}).data)
