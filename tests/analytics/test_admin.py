"""Staff can read the aggregates in the admin; nobody edits them there."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.analytics import services
from tests.analytics.test_consumer import T0, send
from tests.content.factories import PostFactory
from tests.events.helpers import event
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("model", ["userpoststats", "posthourlystats", "creatordailystats"])
def test_staff_read_the_aggregates_but_cannot_change_them(auth_client, model):
    post = PostFactory()
    send(auth_client, [event("play_start", post_id=post.pk, ts=T0)])
    services.events_consume(consumer="c")
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))

    listing = staff.get(f"/django-admin/analytics/{model}/")
    add = staff.get(f"/django-admin/analytics/{model}/add/")

    assert listing.status_code == 200
    assert str(post.pk if model != "creatordailystats" else post.author_id) in \
        listing.content.decode()
    assert add.status_code == 403
