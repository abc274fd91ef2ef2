"""An age-restricted post (moderation sets `Post.age_restricted`; `content.audience` holds
the rule) never reaches minors or signed-out viewers, nor anyone whose age is unknown, on
any surface: post detail, profile grid, hashtag and sound pages, comments and replies,
engagement. Adults and the author still see it."""

from __future__ import annotations

from datetime import date

import pytest
from rest_framework.test import APIClient

from apps.content import services
from apps.content.models import Post
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _born(years_ago: int) -> date:
    today = date.today()
    return today.replace(year=today.year - years_ago, day=1)


def _ids(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


@pytest.fixture
def scene(client_for):  # type: ignore[no-untyped-def]
    author = UserFactory(username="grownup", date_of_birth=_born(30), country="GB")
    track = LibrarySoundFactory()
    restricted, ordinary = (
        services.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                             caption=f"{name} #latenight", sound_id=track.pk)
        for name in ("restricted", "ordinary"))
    assert restricted.status == ordinary.status == Post.Status.PUBLISHED
    commenter = UserFactory(date_of_birth=_born(25))
    comment = client_for(commenter).post(f"/api/v1/posts/{restricted.pk}/comments",
                                         {"text": "wow"}, format="json").json()
    Post.objects.filter(pk=restricted.pk).update(age_restricted=True)
    return {"author": author, "track": track, "restricted": restricted,
            "ordinary": ordinary, "comment_id": comment["id"]}


@pytest.mark.parametrize("viewer", ["minor_15", "minor_17", "unknown_age", "signed_out"])
def test_an_age_restricted_post_reaches_no_minor_and_no_signed_out_viewer(
    client_for, scene, viewer
):
    if viewer == "signed_out":
        client = APIClient()
    else:
        born = {"minor_15": _born(15), "minor_17": _born(17), "unknown_age": None}[viewer]
        client = client_for(UserFactory(date_of_birth=born))
    hidden, shown = str(scene["restricted"].pk), str(scene["ordinary"].pk)

    for path in (f"/api/v1/posts/{hidden}", f"/api/v1/posts/{hidden}/comments",
                 f"/api/v1/posts/{hidden}/engagement",
                 f"/api/v1/comments/{scene['comment_id']}/replies"):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
    for path in ("/api/v1/users/grownup/posts", "/api/v1/hashtags/latenight/posts",
                 f"/api/v1/sounds/{scene['track'].pk}/posts"):
        assert _ids(client.get(path)) == [shown], path
    assert client.get(f"/api/v1/posts/{shown}").status_code == 200
    if viewer != "signed_out":
        assert client.post(f"/api/v1/posts/{hidden}/like").status_code == 404
        assert client.post(f"/api/v1/posts/{hidden}/comments", {"text": "hi"},
                           format="json").status_code == 404


def test_adults_and_the_author_still_see_it_everywhere(client_for, scene):
    both = {str(scene["restricted"].pk), str(scene["ordinary"].pk)}
    for person in (UserFactory(date_of_birth=_born(18)), scene["author"]):
        client = client_for(person)
        assert client.get(f"/api/v1/posts/{scene['restricted'].pk}").status_code == 200
        for path in ("/api/v1/users/grownup/posts", "/api/v1/hashtags/latenight/posts",
                     f"/api/v1/sounds/{scene['track'].pk}/posts"):
            assert set(_ids(client.get(path))) == both, path
        comments = client.get(f"/api/v1/posts/{scene['restricted'].pk}/comments")
        assert [c["id"] for c in comments.json()["results"]] == [scene["comment_id"]]
