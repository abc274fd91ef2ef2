"""Comment lists cost the same number of queries whatever the page size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.comments import services
from apps.comments.models import Comment
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, MuteFactory

pytestmark = pytest.mark.django_db

# get_post_for (1) + the silenced ids, blocked either way or muted (1) + the page (1)
COMMENTS_QUERIES = 3
# get_comment_for: silenced ids + the comment (2), then silenced ids + the page (2)
REPLIES_QUERIES = 4


def _arrange(n: int) -> tuple[object, Comment, object]:
    post = PublishedPostFactory()
    viewer = UserFactory()
    people = [UserFactory() for _ in range(n)]
    top = services.comment_create(author=people[0], post=post, text="top")
    for i, person in enumerate(people):
        services.comment_create(author=person, post=post, text=f"comment {i} @{people[0].username}")
        services.comment_create(author=person, post=post, text=f"reply {i}", parent=top)
        if i % 3 == 0:
            services.comment_like_create(user=viewer, comment=top)
    BlockFactory(blocker=viewer, blocked=people[-1])
    MuteFactory(muter=viewer, muted=people[-2])
    return post, top, viewer


@pytest.mark.parametrize("sort", ["top", "new"])
def test_a_comments_page_costs_the_same_queries_whatever_its_size(client_for, sort):
    post, _, viewer = _arrange(60)
    client = client_for(viewer)
    url = f"/api/v1/posts/{post.pk}/comments"  # type: ignore[attr-defined]

    sizes = []
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, {"page_size": size, "sort": sort})
        assert response.status_code == 200
        assert len(response.json()["results"]) == size
        sizes.append(len(queries.captured_queries))
    assert sizes == [COMMENTS_QUERIES, COMMENTS_QUERIES]


def test_a_replies_page_costs_the_same_queries_whatever_its_size(client_for):
    _, top, viewer = _arrange(60)
    client = client_for(viewer)

    sizes = []
    for size in (5, 50):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/comments/{top.pk}/replies", {"page_size": size})
        assert len(response.json()["results"]) == size
        sizes.append(len(queries.captured_queries))
    assert sizes == [REPLIES_QUERIES, REPLIES_QUERIES]
