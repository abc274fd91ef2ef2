"""The learned ranker (training from the aggregates, metrics, activation in the admin,
serving with it) and the degraded paths: no Redis, no model, a model whose file is gone."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from apps.analytics import online as analytics_online
from apps.analytics.models import UserPostStats
from apps.feed import interactions, online, ranking
from apps.feed.models import RankerModel
from tests.factories import UserFactory
from tests.feed.conftest import ids_of, make_post

pytestmark = pytest.mark.django_db
FOR_YOU = "/api/v1/feed/for-you"
TOPICS = ("cats", "cars", "cooking")


def _watch_history(n_users: int = 24, posts_per_topic: int = 12) -> list[Any]:
    """Users with a hidden favourite topic watch posts over ten days: they finish and like
    posts of their topic far more often than others."""
    rng = random.Random(5)
    posts = {t: [make_post(tags=(t,)) for _ in range(posts_per_topic)] for t in TOPICS}
    users = [UserFactory() for _ in range(n_users)]
    now = timezone.now()
    rows = []
    for i, user in enumerate(users):
        taste = TOPICS[i % len(TOPICS)]
        for topic, topic_posts in posts.items():
            for post in rng.sample(topic_posts, 6):
                likes_it = topic == taste
                fraction = rng.uniform(0.7, 1.0) if likes_it else rng.uniform(0.05, 0.5)
                completed = (likes_it and rng.random() < 0.85) or rng.random() < 0.05
                rows.append(UserPostStats(
                    user_id=user.pk, post_id=post.pk, impressions=1, plays=1,
                    watch_ms=int(fraction * 15_000), max_completion=fraction,
                    completed=completed, liked=likes_it and rng.random() < 0.4,
                    last_event_at=now - timedelta(hours=rng.uniform(1, 240))))
    UserPostStats.objects.bulk_create(rows)
    return users


@pytest.fixture
def staff_client() -> APIClient:
    client = APIClient()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_training_stores_a_version_with_metrics_and_the_admin_activates_it(
        staff_client: APIClient) -> None:
    users = _watch_history()
    call_command("feed_train", "--jobs", "1")
    row = RankerModel.objects.get()
    assert row.version == 1
    assert row.is_active is False
    assert default_storage.exists(str(row.artifact.name))
    for policy in ("ranker", "popularity", "chronological"):
        assert {"auc_completion", "ndcg@10", "recall@50"} <= set(row.metrics[policy])
    # The taste is learnable from history: the ranker beats both baselines offline.
    assert row.metrics["ranker"]["auc_completion"] > row.metrics["popularity"]["auc_completion"]
    assert row.metrics["ranker"]["ndcg@10"] > row.metrics["chronological"]["ndcg@10"]
    assert row.trained_on["train_rows"] > 0
    assert row.trained_on["test_rows"] > 0

    changelist = staff_client.get("/django-admin/feed/rankermodel/")
    assert changelist.status_code == 200
    assert b"auc" in changelist.content.lower()
    acted = staff_client.post("/django-admin/feed/rankermodel/",
                              {"action": "activate", "_selected_action": [str(row.pk)],
                               "index": "0"}, format="multipart")
    assert acted.status_code == 302, acted.content[:3000]
    row.refresh_from_db()
    assert row.is_active

    # Serving calls the LightGBM boosters directly: the same scores as the estimators'.
    model = ranking.active_model()
    assert model is not None
    x = np.random.default_rng(3).random((50, len(ranking.FEATURES)), dtype=np.float32)
    served = model.predict(x)
    columns = x[:, [ranking.FEATURES.index(name) for name in model.feature_names]]
    for head, est in model.heads.items():
        expected = (np.clip(est.predict(columns), 0.0, 3.0) if head == "watch"
                    else est.predict_proba(columns)[:, 1])
        np.testing.assert_allclose(served[head], expected, rtol=1e-5, atol=1e-6)

    viewer = users[0]
    client = APIClient()
    client.force_authenticate(viewer)
    response = client.get(FOR_YOU, {"limit": 5})
    assert response.status_code == 200
    assert "X-Feed-Degraded" not in response
    shown = response.json()["results"]
    assert shown
    logged = online.explanations(f"u:{viewer.pk}")
    assert {entry["scorer"] for entry in logged} == {"model v1"}
    assert set(logged[0]["heads"]) == {"completion", "watch", "like", "follow"}

    # Why was it shown: the staff-only admin view reads the impression log.
    explain = staff_client.get("/django-admin/feed/rankermodel/explain/",
                               {"user": viewer.username, "post": shown[0]["id"]})
    assert explain.status_code == 200
    assert shown[0]["id"].encode() in explain.content
    assert b"model v1" in explain.content
    outsider = APIClient()
    outsider.force_login(UserFactory())
    assert outsider.get("/django-admin/feed/rankermodel/explain/").status_code == 302

    # A second version appears inactive; activating it retires the first.
    call_command("feed_train", "--jobs", "1")
    second = RankerModel.objects.get(version=2)
    staff_client.post("/django-admin/feed/rankermodel/",
                      {"action": "activate", "_selected_action": [str(second.pk)],
                       "index": "0"}, format="multipart")
    assert list(RankerModel.objects.filter(is_active=True).values_list("version",
                                                                         flat=True)) == [2]


def test_a_model_whose_file_is_gone_degrades_to_the_heuristic() -> None:
    users = _watch_history(n_users=9, posts_per_topic=6)
    call_command("feed_train", "--jobs", "1", "--activate")
    row = RankerModel.objects.get(is_active=True)
    default_storage.delete(str(row.artifact.name))
    ranking.forget_model()
    client = APIClient()
    client.force_authenticate(users[0])
    response = client.get(FOR_YOU, {"limit": 4})
    assert len(ids_of(response)) == 4
    assert {e["scorer"] for e in online.explanations(f"u:{users[0].pk}")} == {"heuristic"}


def test_no_model_at_all_serves_the_heuristic() -> None:
    [make_post() for _ in range(5)]
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert len(ids_of(client.get(FOR_YOU, {"limit": 3}))) == 3


@pytest.fixture
def dead_redis(settings: Any) -> Iterator[None]:
    """Every Redis the feed reads (its own and analytics' online features) points at a
    port where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    analytics_online.read_client.cache_clear()
    settings.SWIPEME_FEED_REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    yield
    analytics_online.read_client.cache_clear()


def test_the_two_seen_sets_are_asked_in_one_round_trip() -> None:
    """The feed's served posts and the event stream's seen posts, on the project's Redis:
    one script answers what the two reads answered, and the page asks it once."""
    from apps.feed.candidates import ViewerContext
    from apps.feed.serving.pages import _seen_among

    viewer = UserFactory()
    posts = [make_post() for _ in range(6)]
    ids = [p.pk for p in posts]
    key = online.viewer_key(user_id=viewer.pk, session_id=None)
    online.record_page(key, post_ids=ids[:2], explanations=[{}, {}], request_id="r")
    update = analytics_online.FeatureUpdate()
    for pid in ids[1:4]:
        update.add_seen(f"u:{viewer.pk}", pid, 1)
    update.write(analytics_online.read_client())
    ctx = ViewerContext(user_id=viewer.pk)
    separately = online.seen_among(key, ids)
    assert separately is not None
    separately |= interactions.seen_among(user_id=viewer.pk, session_id=None, post_ids=ids)
    # Count the scripts run on either client (a reply hook; the calls are real).
    clients = [online.client(), analytics_online.read_client()]
    calls: list[str] = []

    def counted(reply: Any, **_: Any) -> Any:
        calls.append("x")
        return reply

    for client in clients:
        assert client is not None
        client.set_response_callback("EVALSHA", counted)
    degraded: list[str] = []
    try:
        assert _seen_among(key, ctx, None, ids, degraded) == separately == set(ids[:4])
    finally:
        for client in clients:
            assert client is not None
            client.response_callbacks.pop("EVALSHA", None)
    assert calls == ["x"]
    assert not degraded


def test_redis_down_still_answers_with_deduped_pages(dead_redis: None) -> None:
    posts = [make_post(tags=("cats",)) for _ in range(7)]
    for client in (APIClient(), None):
        if client is None:
            client = APIClient()
            client.force_authenticate(UserFactory())
        first = client.get(FOR_YOU, {"limit": "4", "session_id": "no-redis-session"})
        assert first.status_code == 200
        assert "redis" in first["X-Feed-Degraded"]
        got = ids_of(first)
        second = client.get(first.json()["next"])
        got += ids_of(second)
        # Without the seen-set the cursor still carries what this chain served.
        assert sorted(got) == sorted(str(p.pk) for p in posts)
