"""The messaging admin shows structure (members, kind, settings) and never message text."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.messaging import services
from tests.factories import UserFactory
from tests.messaging.helpers import direct, send

pytestmark = pytest.mark.django_db


def test_staff_see_members_but_no_message_text() -> None:
    a, b = UserFactory(username="maya"), UserFactory(username="leo")
    conversation = direct(a, b)
    send(a, conversation, "a very private sentence")
    services.update_settings(b, who_can_message="friends")
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    listing = staff.get("/django-admin/messaging/conversation/", {"q": "maya"})
    assert listing.status_code == 200
    assert str(conversation.pk).encode() in listing.content
    page = staff.get(f"/django-admin/messaging/conversation/{conversation.pk}/change/")
    assert page.status_code == 200
    assert b"leo" in page.content
    assert b"a very private sentence" not in page.content
    assert staff.get("/django-admin/messaging/message/").status_code == 404
    settings_page = staff.get("/django-admin/messaging/messagingsettings/")
    assert b"leo" in settings_page.content
