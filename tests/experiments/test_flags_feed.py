"""Experiment arms in For You: the ranker version and its weights come from the feed.ranker
and feed.weights flags (an arm may set them; reading them logs the exposure), and whatever
an arm chose, the safety gate still runs after it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.experiments import services
from apps.experiments.evaluation import assign, unit_for
from apps.feed import ranking
from tests.events.helpers import logged_events
from tests.experiments.flag_helpers import STAFF, fresh_config, primary_metric
from tests.factories import UserFactory
from tests.feed.conftest import _fresh_feed_state, ids_of, make_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_config",
                                                             "_fresh_feed_state")]
__all__ = ["_fresh_feed_state", "fresh_config"]
HOT: dict[str, Any] = {"views_count": 100_000, "likes_count": 50_000, "shares_count": 5_000}


def _ranker_experiment() -> None:
    services.flag_save(actor=STAFF, key="feed.ranker", kind="multivariate",
                       default_value="active", variations=["active", "heuristic", "v1"])
    services.flag_save(actor=STAFF, key="feed.weights", kind="multivariate", default_value={},
                       variations=[{}, {"like": 5.0, "completion": 0.0}], client_visible=False)
    layer = services.layer_create(actor=STAFF, key="ranking")
    exp = services.experiment_create(
        actor=STAFF, key="ranker-heuristic", layer=layer, traffic_percent=100, arms=[
            {"key": "control", "weight": 1, "values": {}},
            {"key": "heuristic", "weight": 1,
             "values": {"feed.ranker": "heuristic",
                        "feed.weights": {"like": 5.0, "completion": 0.0}}}])
    primary_metric(exp)
    services.experiment_start(actor=STAFF, experiment=exp)


def test_the_flags_name_the_ranker_and_the_weights():
    assert ranking.model_for("heuristic", active=None) is None
    assert ranking.model_for("active", active=None) is None
    assert ranking.model_for("v99", active=None) is None  # no such version: the active one
    assert ranking.weights_from({}) is None
    weights = ranking.weights_from({"like": 5.0, "bogus": 3, "watch": "x"})
    assert weights == {**ranking.weights(), "like": 5.0}


def test_a_teen_in_the_treatment_arm_is_exposed_and_still_gets_no_restricted_post():
    _ranker_experiment()
    teens = [UserFactory(date_of_birth=date(timezone.localdate().year - 15, 1, 1))
             for _ in range(12)]
    teen = next(t for t in teens
                if assign("ranker-heuristic", unit_for(t), expose=False) == "heuristic")
    restricted = make_post(age_restricted=True, **HOT)
    normal = [make_post(**HOT) for _ in range(3)]
    client = APIClient()
    client.force_authenticate(teen)
    got = ids_of(client.get("/api/v1/feed/for-you", {"limit": 10}))
    assert set(got) == {str(p.pk) for p in normal}
    assert str(restricted.pk) not in got
    exposures = [e for e in logged_events() if e["type"] == "exposure"]
    assert [e["data"] for e in exposures] == [{"experiment": "ranker-heuristic",
                                               "arm": "heuristic"}]


def test_no_experiment_no_exposure_and_the_feed_is_unchanged():
    posts = [make_post(**HOT) for _ in range(3)]
    client = APIClient()
    client.force_authenticate(UserFactory())
    assert set(ids_of(client.get("/api/v1/feed/for-you", {"limit": 10}))) == {
        str(p.pk) for p in posts}
    assert [e for e in logged_events() if e["type"] == "exposure"] == []
