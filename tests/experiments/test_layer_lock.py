"""Two staff placing experiments in one layer at once: the layer's row lock
(`services._free_slice`) serves them one after the other, so the layer never goes above
100 %. Run with transaction=True: the lock is taken inside the service's own transaction, as
in production, and each thread has its own connection."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from apps.experiments import services
from apps.experiments.models import Experiment
from apps.experiments.models.experiments import LAYER_BUCKETS
from apps.experiments.rules import RuleError
from tests.experiments.flag_helpers import STAFF, ranker_flag

pytestmark = pytest.mark.django_db(transaction=True)


ARMS = [{"key": "c", "weight": 1, "values": {}},
        {"key": "t", "weight": 1, "values": {"feed.ranker": "v2"}}]


def test_an_experiment_placed_while_another_is_uncommitted_waits_and_is_refused() -> None:
    """A places 60 % and holds its transaction open; B asks for 60 % meanwhile. Without the
    layer lock B would not see A's uncommitted slice and both would be created (120 %)."""
    ranker_flag()
    layer = services.layer_create(actor=STAFF, key="ranking")
    a_placed = threading.Event()
    outcomes: dict[str, str] = {}

    def place_a() -> None:
        try:
            with transaction.atomic():
                services.experiment_create(actor=STAFF, key="exp-a", layer=layer,
                                           traffic_percent=60, arms=ARMS)
                a_placed.set()
                time.sleep(1.5)  # B arrives while A's slice is not committed yet
            outcomes["exp-a"] = "created"
        finally:
            a_placed.set()
            connection.close()

    def place_b() -> None:
        try:
            assert a_placed.wait(timeout=30)
            services.experiment_create(actor=STAFF, key="exp-b", layer=layer,
                                       traffic_percent=60, arms=ARMS)
            outcomes["exp-b"] = "created"
        except RuleError as exc:
            outcomes["exp-b"] = f"refused: {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=place_a), threading.Thread(target=place_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes.get("exp-a") == "created", outcomes
    assert outcomes.get("exp-b", "").startswith("refused"), outcomes
    assert "40 % of its traffic free" in outcomes["exp-b"]
    slices = list(Experiment.objects.filter(layer=layer).values_list("bucket_start",
                                                                     "bucket_end"))
    assert len(slices) == 1
    assert sum(end - start for start, end in slices) <= LAYER_BUCKETS
