"""Non-API views of accounts: the owner-only download of a data export. It is a DRF view
so that both the web session and the app's X-Session-Token authenticate it. The download
is the exfiltration itself, so it needs a recent re-authentication like the request: the
app gets 401 `reauthentication_required`, a browser allauth's re-authentication page."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts import selectors
from apps.accounts.models import DataExport, User
from apps.accounts.reauthentication import (
    ReauthenticationRequired,
    RecentlyAuthenticated,
    reauthenticate_url,
    uses_session_token,
)
from apps.accounts.storage import private_storage
from apps.core.errors import NotFoundError


class DataExportDownloadView(APIView):
    permission_classes = [RecentlyAuthenticated]
    throttle_classes: list[Any] = []

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ReauthenticationRequired) and not uses_session_token(self.request):
            # a browser: allauth's re-authentication page, then back here
            return Response(status=302, headers={"Location": reauthenticate_url(self.request)})
        response: Response = super().handle_exception(exc)
        return response

    def get(self, request: Request, export_id: int) -> FileResponse:
        user = request.user
        assert isinstance(user, User)
        if export_id > 2**63 - 1:
            raise NotFoundError("No such export.")
        export = selectors.get_data_export_for(user, export_id)
        if export.state != DataExport.State.READY or not export.file:
            raise NotFoundError("This export is not available.")
        response = FileResponse(
            private_storage().open(export.file, "rb"),
            as_attachment=True,
            filename=f"swipeme-data-{export.pk}.zip",
            content_type="application/zip",
        )
        response["Cache-Control"] = "private, no-store"
        return response
