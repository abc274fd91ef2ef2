"""The reports API: only what the reporter can see, one open report per target, clear 4xx
for bad input in the error shape, a throttle, and list endpoints with pinned query counts."""

from __future__ import annotations

import pytest

from apps.comments.models import Comment
from apps.content.models import Post
from apps.moderation.models import Case, Notice, Report
from apps.moderation.services import enforce
from apps.social.models import Block
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory
from tests.moderation.conftest import error_of
from tests.notifications.inbox_helpers import run_notification_tasks

pytestmark = pytest.mark.django_db


def _report(client, **body):
    return client.post("/api/v1/reports", {"policy": "spam_scam", **body}, format="json")


def _nothing_reported() -> None:
    assert not Case.objects.exists()
    assert not Report.objects.exists()


def test_posts_comments_accounts_and_sounds_can_be_reported(api_for):
    reporter = UserFactory()
    post = PostFactory()
    comment = Comment.objects.create(post=post, author=UserFactory(), text="buy followers")
    sound = LibrarySoundFactory()
    client = api_for(reporter)
    for target_type, target_id in [("post", post.pk), ("comment", comment.pk),
                                   ("user", post.author_id), ("sound", sound.pk)]:
        response = _report(client, target_type=target_type, target_id=str(target_id),
                           details="spam")
        assert response.status_code == 201, response.json()
        assert response.json()["target_id"] == str(target_id)
    assert Case.objects.count() == 4
    assert set(Case.objects.values_list("subject_id", flat=True)) == {
        post.author_id, comment.author_id, None}


def test_things_the_reporter_cannot_see_are_404(api_for):
    reporter = UserFactory()
    private_author = UserFactory(is_private=True)
    hidden_post = PostFactory(author=private_author)
    removed = PostFactory(status=Post.Status.REMOVED)
    draft = PostFactory(status=Post.Status.DRAFT, published_at=None)
    blocker = UserFactory()
    Block.objects.create(blocker=blocker, blocked=reporter)
    blockers_post = PostFactory(author=blocker)
    deleted_comment = Comment.objects.create(post=PostFactory(), author=UserFactory(),
                                             text="gone", status=Comment.Status.DELETED)
    client = api_for(reporter)
    for target_type, target_id in [
        ("post", hidden_post.pk), ("post", removed.pk), ("post", draft.pk),
        ("post", blockers_post.pk), ("user", blocker.pk), ("comment", deleted_comment.pk),
        ("post", 99), ("user", 99), ("comment", 99), ("sound", 99),
    ]:
        response = _report(client, target_type=target_type, target_id=str(target_id))
        assert response.status_code == 404, (target_type, target_id, response.json())
        error_of(response)
    _nothing_reported()


def test_one_open_report_per_reporter_and_target_and_not_yourself(api_for):
    reporter = UserFactory()
    post = PostFactory()
    client = api_for(reporter)
    assert _report(client, target_type="post", target_id=str(post.pk)).status_code == 201
    again = _report(client, target_type="post", target_id=str(post.pk))
    assert again.status_code == 409
    assert error_of(again)["code"] == "already_reported"
    own = _report(api_for(post.author), target_type="post", target_id=str(post.pk))
    assert own.status_code == 400
    assert error_of(own)["code"] == "own_content"
    assert Report.objects.count() == 1


@pytest.mark.parametrize("body", [
    {"target_type": "post"},
    {"target_type": "planet", "target_id": "1"},
    {"target_type": "post", "target_id": "abc"},
    {"target_type": "post", "target_id": 1.5},
    {"target_type": "post", "target_id": "99999999999999999999999"},
    {"target_type": "post", "target_id": "-4"},
    {"target_type": "post", "target_id": ["1"]},
    {"target_type": "post", "target_id": "1", "policy": "bad_vibes"},
    {"target_type": "post", "target_id": "1", "details": "x" * 1001},
])
def test_bad_input_is_400_in_the_error_shape(api_for, body):
    response = api_for(UserFactory()).post("/api/v1/reports",
                                           {"policy": "spam_scam", **body}, format="json")
    assert response.status_code == 400, response.json()
    assert error_of(response)["fields"]
    _nothing_reported()


def test_malformed_json_and_anonymous_callers(api_for, client):
    response = api_for(UserFactory()).post("/api/v1/reports", "{not json",
                                           content_type="application/json")
    assert response.status_code == 400
    error_of(response)
    anonymous = client.post("/api/v1/reports", {}, content_type="application/json")
    assert anonymous.status_code == 401
    error_of(anonymous)
    assert client.get("/api/v1/me/notices").status_code == 401
    bad_appeal = api_for(UserFactory()).post("/api/v1/appeals", {"action_id": "x"},
                                             format="json")
    assert bad_appeal.status_code == 400
    assert "action_id" in error_of(bad_appeal)["fields"]
    _nothing_reported()


def test_reports_are_throttled(api_for, settings):
    from apps.moderation.api.views import ReportThrottle

    reporter = UserFactory()
    client = api_for(reporter)
    posts = [PostFactory() for _ in range(4)]
    ReportThrottle.rate = "3/hour"
    try:
        codes = [_report(client, target_type="post", target_id=str(p.pk)).status_code
                 for p in posts]
    finally:
        ReportThrottle.rate = "30/hour"
    assert codes == [201, 201, 201, 429]
    assert Report.objects.count() == 3


def test_policies_list_links_each_rule(api_for):
    rows = api_for(UserFactory()).get("/api/v1/moderation/policies").json()
    assert {"slug": "minor_safety", "name": "Minor safety",
            "guideline_url": "/pages/community-guidelines/minor_safety/"} in rows


@pytest.mark.parametrize("endpoint", ["/api/v1/me/reports", "/api/v1/me/notices"])
def test_list_query_counts_do_not_grow_with_the_page(api_for, endpoint,
                                                     django_assert_num_queries):
    user = UserFactory()
    client = api_for(user)

    def fill(n: int) -> None:
        for _ in range(n):
            post = PostFactory(author=user) if "notices" in endpoint else PostFactory()
            if "notices" in endpoint:
                enforce(action="age_restrict", target_type="post", target_id=post.pk,
                        policy="violence_graphic", reason="gore")
            else:
                _report(client, target_type="post", target_id=str(post.pk))

    fill(2)
    # one query for the page whatever its size (the notices' "appealed" flag is a subquery)
    with django_assert_num_queries(1):
        assert len(client.get(endpoint).json()["results"]) == 2
    fill(8)
    with django_assert_num_queries(1):
        assert len(client.get(endpoint).json()["results"]) == 10
    assert Notice.objects.count() == (10 if "notices" in endpoint else 0)


def test_notices_are_marked_read_only_for_their_owner(api_for):
    owner, other = UserFactory(), UserFactory()
    post = PostFactory(author=owner)
    enforce(action="age_restrict", target_type="post", target_id=post.pk,
            policy="violence_graphic", reason="gore")
    run_notification_tasks()  # its notification holds the read state (the inbox's)
    notice = Notice.objects.get(user=owner)
    assert api_for(owner).get("/api/v1/me/notices").json()["results"][0]["read_at"] is None
    assert api_for(other).post("/api/v1/me/notices/read", {"ids": [str(notice.pk)]},
                               format="json").json() == {"marked": 0}
    assert api_for(owner).post("/api/v1/me/notices/read", {"ids": [str(notice.pk)]},
                               format="json").json() == {"marked": 1}
    assert api_for(owner).get("/api/v1/me/notices").json()["results"][0]["read_at"]
    bad = api_for(owner).post("/api/v1/me/notices/read", {"ids": "all"}, format="json")
    assert bad.status_code == 400
    assert "ids" in error_of(bad)["fields"]
