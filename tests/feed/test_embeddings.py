"""The numpy MiniLM embeddings: known properties of the model, the embedding task, and
the similar-posts source over pgvector."""

from __future__ import annotations

import numpy as np
import pytest
from rest_framework.test import APIClient

from apps.analytics.models import UserPostStats
from apps.feed import services
from apps.feed.embeddings import encode
from apps.feed.models import PostEmbedding
from tests.factories import UserFactory
from tests.feed.conftest import make_post


def test_vectors_are_unit_length_and_paraphrases_are_closer() -> None:
    texts = ["A man is eating food.", "A man is eating a piece of bread.",
             "The girl is carrying a baby.", "A man is riding a horse.",
             "funny cat compilation", "hilarious kittens doing silly things",
             "how to change a car tyre"]
    v = encode(texts)
    assert v.shape == (7, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sim = v @ v.T
    assert sim[0, 1] > 0.6  # paraphrases
    assert sim[0, 1] > sim[0, 2] + 0.4
    assert sim[4, 5] > sim[4, 6] + 0.3
    # Deterministic, and a batch does not change a text's vector (padding is masked).
    alone = encode(["A man is eating food."])[0]
    assert np.allclose(alone, v[0], atol=1e-5)


@pytest.mark.django_db
def test_embedding_task_and_similar_source() -> None:
    cats = [make_post(caption=f"my cat {word} #cats", tags=("cats",))
            for word in ("sleeps", "jumps", "purrs", "plays")]
    engines = [make_post(caption=f"engine {word} #cars", tags=("cars",))
               for word in ("repair", "swap", "tuning", "noise")]
    assert services.embed_posts() == 8
    assert services.embed_posts() == 0  # only posts without a vector
    assert PostEmbedding.objects.count() == 8
    user = UserFactory()
    from django.utils import timezone

    UserPostStats.objects.create(user_id=user.pk, post_id=cats[0].pk, impressions=1, plays=1,
                                 watch_ms=15000, max_completion=1.0, completed=True,
                                 last_event_at=timezone.now())
    client = APIClient()
    client.force_authenticate(user)
    page = client.get("/api/v1/feed/for-you", {"limit": 4}).json()["results"]
    ranked = [p for p in page if p["reco"]["source"] != "explore"]
    assert {p["id"] for p in ranked} <= {str(p.pk) for p in cats[1:]}
    assert {p["reco"]["source"] for p in ranked} & {"similar", "sound_tag"}
    assert not {p["id"] for p in ranked} & {str(p.pk) for p in engines}
