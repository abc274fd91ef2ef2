"""An avatar's resize and a data export's build are sent through the task outbox
(apps.core.outbox): requested while the broker (the project's Redis) is unavailable, the
request still succeeds, the task waits in PostgreSQL and reaches the broker once it is back.
Before, they were `.delay()`ed after the commit and dropped with a log line: the avatar
stayed unresized and the export pending, blocking another request, for two hours.
(The real worker's story is tests/accounts/test_avatar_and_export.py.)"""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from apps.accounts.models import DataExport
from apps.core import outbox, redis_health
from apps.core.models import OutboxTask
from tests.accounts.conftest import reauthenticated_api_client
from tests.conftest import open_redis_breaker, waiting_task_args
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("broker_unconsumed")]


def _png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 200), (200, 30, 90)).save(buffer, format="PNG")
    return SimpleUploadedFile("a.png", buffer.getvalue(), content_type="image/png")


def test_an_avatar_set_while_the_broker_is_down_is_resized_once_it_is_back() -> None:
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    open_redis_breaker()
    response = client.post("/api/v1/me/avatar", {"file": _png()}, format="multipart")
    assert response.status_code == 202, response.content
    user.refresh_from_db()
    row = OutboxTask.objects.get(task="accounts.avatar_render")
    assert (row.args, row.dispatched_at) == ([user.pk, user.avatar.name], None)
    assert waiting_task_args("accounts.avatar_render") == []

    redis_health.reset_all()  # the broker is back
    assert outbox.outbox_dispatch() == 1
    assert waiting_task_args("accounts.avatar_render") == [[user.pk, user.avatar.name]]


def test_an_export_requested_while_the_broker_is_down_is_built_once_it_is_back() -> None:
    user = UserFactory()
    client = reauthenticated_api_client(user)
    open_redis_breaker()
    response = client.post("/api/v1/me/exports")
    assert response.status_code == 202, response.content
    export = DataExport.objects.get(user=user)
    row = OutboxTask.objects.get(task="accounts.data_export_build")
    assert (row.args, row.dispatched_at) == ([export.pk], None)

    redis_health.reset_all()
    assert outbox.outbox_dispatch() == 1
    assert waiting_task_args("accounts.data_export_build") == [[export.pk]]
