"""Branded-content disclosure everywhere: the author's toggle (outside the marketplace too),
the label in the post API, the Following feed and the post page, a marketplace or moderator
label the author cannot remove, and a restricted-category branded post kept from minors."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.content.models import Post
from apps.content.services.branding import SOURCE_MARKETPLACE, post_set_branded
from apps.moderation.policies import Policy
from apps.social.models import Follow
from tests.factories import UserFactory
from tests.feed.conftest import make_post

pytestmark = pytest.mark.django_db

LABEL = "Paid partnership with @Acme Foods"


def test_the_author_marks_any_post_and_the_label_shows_in_the_api_feed_and_page() -> None:
    author, viewer = UserFactory(), UserFactory()
    post = make_post(author=author)
    api = APIClient()
    api.force_authenticate(author)
    response = api.put(f"/api/v1/posts/{post.pk}/branded", {"partner": "@Acme  Foods"})
    assert response.status_code == 200, response.content
    assert response.json()["branded"] == {
        "partner": "Acme Foods",
        "text": LABEL,
        "labelled_by": "author",
    }

    Follow.objects.create(follower=viewer, followee=author)
    api.force_authenticate(viewer)
    feed = api.get("/api/v1/feed/following").json()["results"]
    assert [item["branded"]["text"] for item in feed] == [LABEL]
    assert api.get(f"/api/v1/posts/{post.pk}").json()["branded"]["text"] == LABEL
    page = Client().get(f"/@{author.username}/video/{post.pk}")
    assert page.status_code == 200
    assert LABEL in page.content.decode()

    # removing the author's own label: null in the API, gone from the page
    api.force_authenticate(author)
    assert api.put(f"/api/v1/posts/{post.pk}/branded", {"partner": ""}).json()["branded"] is None
    assert (
        "Paid partnership"
        not in Client().get(f"/@{author.username}/video/{post.pk}").content.decode()
    )


def test_someone_elses_post_or_bad_input_is_refused_in_the_error_shape() -> None:
    post = make_post()
    api = APIClient()
    api.force_authenticate(UserFactory())
    other = api.put(f"/api/v1/posts/{post.pk}/branded", {"partner": "Acme"})
    assert other.status_code == 404
    assert other.json()["error"]["code"] == "not_found"
    api.force_authenticate(post.author)
    for body in ({"partner": "x" * 101}, {"partner": "\u0007bell"}, {}):
        bad = api.put(f"/api/v1/posts/{post.pk}/branded", body, format="json")
        assert bad.status_code == 400, body
        assert bad.json()["error"]["message"]
    assert api.put("/api/v1/posts/nope/branded", {"partner": "A"}).status_code == 404
    assert APIClient().put(f"/api/v1/posts/{post.pk}/branded", {"partner": "A"}).status_code == 401


def test_a_marketplace_label_stays_and_the_author_is_told_why() -> None:
    post = make_post()
    post_set_branded(post_id=post.pk, partner="Acme", source=SOURCE_MARKETPLACE)
    api = APIClient()
    api.force_authenticate(post.author)
    response = api.put(f"/api/v1/posts/{post.pk}/branded", {"partner": ""})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "branded_locked"
    assert "marketplace" in response.json()["error"]["message"]
    assert Post.objects.get(pk=post.pk).branded_partner == "Acme"


def test_a_restricted_category_branded_post_never_reaches_minors() -> None:
    author = UserFactory()
    minor = UserFactory(date_of_birth=date(date.today().year - 15, 1, 1))
    adult = UserFactory()
    post = make_post(author=author)
    post_set_branded(
        post_id=post.pk, partner="Brewery", source=SOURCE_MARKETPLACE, category="alcohol"
    )
    post.refresh_from_db()
    assert post.age_restricted  # the one audience rule does the rest
    for viewer, seen in ((minor, False), (adult, True)):
        Follow.objects.create(follower=viewer, followee=author)
        api = APIClient()
        api.force_authenticate(viewer)
        ids = [item["id"] for item in api.get("/api/v1/feed/following").json()["results"]]
        assert (str(post.pk) in ids) is seen
        assert (api.get(f"/api/v1/posts/{post.pk}").status_code == 200) is seen


def test_undisclosed_paid_promotion_is_a_report_reason() -> None:
    post = make_post()
    api = APIClient()
    api.force_authenticate(UserFactory())
    response = api.post(
        "/api/v1/reports",
        {"target_type": "post", "target_id": str(post.pk), "policy": Policy.UNDISCLOSED_PROMOTION},
    )
    assert response.status_code in (200, 201), response.content
