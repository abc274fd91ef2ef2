"""The analysis over the real event lake (Parquet files, chdb): every metric's per-unit values
computed by the SQL equal the values computed here from the same events by hand, including
what must not count (events before the unit's exposure, heartbeats, unassigned users)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from apps.experiments.analysis import AnalysisError, analyze_experiment, snapshot_experiment
from apps.experiments.models import Assignment, Experiment, ExperimentMetric, Layer, Metric
from apps.experiments.standard_metrics import seed_standard_metrics
from apps.payments.models import Payment
from tests.experiments.lake_data import lake_event, write_events
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _standard_metrics(db: None) -> None:
    """Migration 0003 seeds them; a flush (a browser module's end) removes them."""
    seed_standard_metrics(Metric)


NOW = datetime.now(tz=UTC).replace(microsecond=0)
START = NOW - timedelta(days=3, hours=1)


@pytest.fixture
def lake(settings: Any, tmp_path: Path) -> Path:
    settings.LAKE_ROOT = tmp_path / "lake"
    settings.LAKE_S3_BUCKET = ""
    settings.CLICKHOUSE_URL = ""
    return tmp_path / "lake"


def _experiment() -> Experiment:
    layer = Layer.objects.create(key="analysis-layer")
    experiment = Experiment.objects.create(
        key="ranker-v2",
        layer=layer,
        bucket_start=0,
        bucket_end=10_000,
        arms=[
            {"key": "control", "weight": 50, "values": {}},
            {"key": "treatment", "weight": 50, "values": {}},
        ],
        status=Experiment.Status.RUNNING,
        started_at=START,
    )
    for key, role in [
        ("watch_time", "primary"),
        ("likes_per_user", "guardrail"),
        ("time_to_first_frame", "secondary"),
        ("retention_d1", "secondary"),
        ("revenue_per_user", "secondary"),
        ("sessions", "secondary"),
    ]:
        ExperimentMetric.objects.create(
            experiment=experiment, metric=Metric.objects.get(key=key), role=role
        )
    return experiment


def test_metric_values_from_the_lake_match_the_events(lake):
    experiment = _experiment()
    rng = np.random.default_rng(4)
    events: list[dict[str, Any]] = []
    expected: dict[str, dict[str, list[float]]] = {
        m: {"control": [], "treatment": []} for m in ("watch", "likes", "d1", "revenue")
    }
    ttff: dict[str, list[float]] = {"control": [0.0, 0.0], "treatment": [0.0, 0.0]}
    sessions: dict[str, list[float]] = {"control": [], "treatment": []}
    for n in range(40):
        user = UserFactory()
        arm = "control" if n % 2 == 0 else "treatment"
        exposed = START + timedelta(hours=int(rng.integers(1, 30)))
        Assignment.objects.create(
            experiment=experiment,
            unit=f"u:{user.pk}",
            arm=arm,
            salt=experiment.salt,
            first_exposed_at=exposed,
        )
        watch = 0.0
        for _ in range(int(rng.integers(0, 5))):
            ms = int(rng.integers(1_000, 60_000))
            at = exposed + timedelta(minutes=int(rng.integers(0, 2_000)))
            if at >= NOW:
                continue
            events.append(
                lake_event(
                    "watch_end",
                    at,
                    user_id=user.pk,
                    session_id=f"s{n}",
                    watched_ms=ms,
                    duration_ms=60_000,
                )
            )
            watch += ms
            # heartbeats are never summed
            events.append(
                lake_event(
                    "watch_progress",
                    at,
                    user_id=user.pk,
                    session_id=f"s{n}",
                    watched_ms=ms,
                    duration_ms=60_000,
                )
            )
        # before exposure (after the start): does not count
        events.append(
            lake_event(
                "watch_end",
                exposed - timedelta(minutes=1),
                user_id=user.pk,
                session_id=f"s{n}-early",
                watched_ms=99_000,
                duration_ms=100_000,
            )
        )
        # the pre-period (CUPED's covariate), 5 days before the start
        events.append(
            lake_event(
                "watch_end",
                START - timedelta(days=5),
                user_id=user.pk,
                session_id=f"s{n}-pre",
                watched_ms=1_000 * n,
                duration_ms=100_000,
            )
        )
        likes = int(rng.integers(0, 3))
        events += [
            lake_event("like", exposed + timedelta(minutes=5), user_id=user.pk, session_id=f"s{n}")
            for _ in range(likes)
        ]
        came_back = n % 3 == 0
        if came_back:
            events.append(
                lake_event(
                    "play_start",
                    exposed + timedelta(hours=30),
                    user_id=user.pk,
                    session_id=f"s{n}-d1",
                )
            )
        t = int(rng.integers(100, 900))
        events.append(
            lake_event(
                "qoe",
                exposed + timedelta(minutes=1),
                user_id=user.pk,
                session_id=f"s{n}",
                ttff_ms=t,
            )
        )
        events.append(
            lake_event(
                "qoe",
                exposed + timedelta(minutes=2),
                user_id=user.pk,
                session_id=f"s{n}",
                rebuffer_count=1,
            )
        )  # no ttff: not counted
        ttff[arm][0] += t
        ttff[arm][1] += 1
        paid = 0.0
        if n % 5 == 0:
            Payment.objects.create(
                user_id=user.pk,
                provider="local",
                key=f"k{n}",
                purpose="coins",
                amount_minor=499,
                currency="USD",
                status="succeeded",
                succeeded_at=exposed + timedelta(hours=1),
            )
            paid = 4.99
        # the server's exposure event: neither activity nor a session of its own
        events.append(lake_event("exposure", exposed, user_id=user.pk, session_id=f"u{user.pk}"))
        expected["watch"][arm].append(watch / 60_000)
        expected["likes"][arm].append(likes)
        # D1 needs the unit's day 1 over by now: exposed + 2 days <= NOW
        if exposed + timedelta(days=2) <= NOW:
            back = any(
                e["user_id"] == user.pk
                and e["type"] != "exposure"
                and exposed + timedelta(days=1) <= e["ts"] < exposed + timedelta(days=2)
                for e in events
            )
            assert back or not came_back
            expected["d1"][arm].append(1.0 if back else 0.0)
        expected["revenue"][arm].append(paid)
        # distinct sessions counted per day of the experiment
        days_sessions = {
            ((e["ts"] - START) // timedelta(days=1), e["session_id"])
            for e in events
            if e["user_id"] == user.pk and e["ts"] >= exposed and e["type"] != "exposure"
        }
        sessions[arm].append(float(len(days_sessions)))
    # a visitor whose device id is its client's session id (the feed's ranker flags) is
    # measured; one assigned by a cookie id that no client event carries is not
    for unit, arm, watched in [("visitor-1", "control", 30_000), ("cookie-1", "treatment", 0)]:
        exposed = START + timedelta(hours=2)
        Assignment.objects.create(
            experiment=experiment,
            unit=f"d:{unit}",
            arm=arm,
            salt=experiment.salt,
            first_exposed_at=exposed,
        )
        events.append(lake_event("exposure", exposed, session_id=unit))
        if watched:
            events.append(
                lake_event(
                    "watch_end",
                    exposed + timedelta(minutes=3),
                    session_id=unit,
                    watched_ms=watched,
                    duration_ms=60_000,
                )
            )
    for name, value in [("watch", 0.5), ("likes", 0.0), ("d1", 0.0), ("revenue", 0.0)]:
        expected[name]["control"].append(value)
    # an unassigned user's events are not in any arm
    events.append(
        lake_event(
            "watch_end",
            START + timedelta(hours=5),
            user_id=10**12,
            watched_ms=50_000,
            duration_ms=60_000,
        )
    )
    write_events(events)

    results = analyze_experiment(experiment, as_of=NOW)

    rows = {r.metric: r for r in results.comparisons["raw"]}
    for key, name in [
        ("watch_time", "watch"),
        ("likes_per_user", "likes"),
        ("retention_d1", "d1"),
        ("revenue_per_user", "revenue"),
    ]:
        assert rows[key].control_value == pytest.approx(np.mean(expected[name]["control"])), key
        assert rows[key].treatment_value == pytest.approx(np.mean(expected[name]["treatment"])), key
    assert rows["retention_d1"].n_control == len(expected["d1"]["control"])
    assert rows["time_to_first_frame"].control_value == pytest.approx(
        ttff["control"][0] / ttff["control"][1]
    )
    assert rows["sessions"].treatment_value == pytest.approx(np.mean(sessions["treatment"]))
    assert results.counts == {"control": 21, "treatment": 21}
    assert results.unmeasured == 1  # the cookie visitor
    assert rows["watch_time"].n_treatment == 20
    assert not results.srm_flagged
    # CUPED used the pre-period for the mean metrics over events, not for the ratio
    cuped = {r.metric: r for r in results.comparisons["cuped"]}
    assert cuped["watch_time"].cuped
    assert not cuped["time_to_first_frame"].cuped
    assert not cuped["retention_d1"].cuped
    assert results.verdicts["cuped"][0].decision in {"keep_running", "ship", "dont_ship"}

    snapshot = snapshot_experiment(experiment, as_of=NOW)
    assert snapshot.day == NOW.date()
    assert snapshot.payload["comparisons"]["raw"][0]["metric"] == "watch_time"


def test_an_experiment_without_a_primary_metric_is_refused_in_words(lake):
    experiment = _experiment()
    ExperimentMetric.objects.filter(experiment=experiment, role="primary").delete()
    with pytest.raises(AnalysisError, match="no primary metric"):
        analyze_experiment(experiment, as_of=NOW)
    experiment.started_at = None
    experiment.save(update_fields=["started_at"])
    with pytest.raises(AnalysisError, match="not started"):
        analyze_experiment(experiment, as_of=NOW)


def test_the_pre_period_is_the_14_days_before_the_start(lake):
    """CUPED's covariate (day -1, the array's first column) sums exactly the events of
    [start - 14 days, start); after the start only events from the unit's exposure on count."""
    from apps.experiments.analysis.load import load_measures
    from apps.experiments.models.metrics import Aggregation, Measure, Source
    from apps.experiments.stats import PRE_PERIOD_DAYS

    assert PRE_PERIOD_DAYS == 14
    user = UserFactory()
    exposed = START + timedelta(hours=1)
    watched = [
        (START - timedelta(days=14, minutes=1), 1),  # before the pre-period
        (START - timedelta(days=14) + timedelta(minutes=1), 10),  # its first minutes
        (START - timedelta(days=3), 100),
        (START - timedelta(minutes=1), 1_000),  # its last minute
        (START + timedelta(minutes=30), 10_000),  # started, not yet exposed
        (exposed + timedelta(minutes=5), 100_000),  # day 0
        (START + timedelta(days=1, hours=2), 1_000_000),  # day 1
    ]
    write_events(
        [
            lake_event("watch_end", at, user_id=user.pk, watched_ms=ms, duration_ms=10**7)
            for at, ms in watched
        ]
    )
    watch = Measure(Source.EVENTS, "watch_end", Aggregation.SUM, "watched_ms", "", None)
    [values] = load_measures(
        [watch],
        units=np.array([f"u:{user.pk}"]),
        first_exposed=[exposed],
        start=START,
        end=NOW,
        days=3,
        pre_days=PRE_PERIOD_DAYS,
    )
    assert values.tolist() == [[1_110.0, 100_000.0, 1_000_000.0, 0.0]]


def test_shares_follows_errors_rebuffers_and_d7_from_the_lake(lake):
    """The standard metrics the first test leaves out, against values worked out by hand:
    4 users, 2 an arm, exposed 10 days ago (so their day 7 is over)."""
    started = NOW - timedelta(days=10)
    layer = Layer.objects.create(key="analysis-layer-2")
    experiment = Experiment.objects.create(
        key="player-v2",
        layer=layer,
        bucket_start=0,
        bucket_end=10_000,
        arms=[
            {"key": "control", "weight": 50, "values": {}},
            {"key": "treatment", "weight": 50, "values": {}},
        ],
        status=Experiment.Status.RUNNING,
        started_at=started,
    )
    keys = ["shares_per_user", "follows_per_user", "errors_per_user", "rebuffers_per_play"]
    for key in [*keys, "retention_d7"]:
        ExperimentMetric.objects.create(
            experiment=experiment,
            metric=Metric.objects.get(key=key),
            role="primary" if key == keys[0] else "secondary",
        )
    exposed = started + timedelta(hours=1)
    events: list[dict[str, Any]] = []
    for n in range(4):  # even: control, odd: treatment
        user = UserFactory()
        Assignment.objects.create(
            experiment=experiment,
            unit=f"u:{user.pk}",
            arm="control" if n % 2 == 0 else "treatment",
            salt=experiment.salt,
            first_exposed_at=exposed,
        )
        at = exposed + timedelta(minutes=10)
        events += [lake_event("share", at, user_id=user.pk) for _ in range(n + 1)]
        events += [lake_event("follow", at, user_id=user.pk) for _ in range(n)]
        events += [lake_event("play_start", at, user_id=user.pk) for _ in range(2)]
        events.append(lake_event("qoe", at, user_id=user.pk, rebuffer_count=n))
        if n % 2 == 0:
            events.append(lake_event("qoe", at, user_id=user.pk, error="E_DECODE"))
        if n in (0, 3):  # back on day 7 (7 to 8 days after exposure)
            events.append(lake_event("like", exposed + timedelta(days=7, hours=2), user_id=user.pk))
        if n == 1:  # back on day 6 only: not D7
            events.append(lake_event("like", exposed + timedelta(days=6, hours=2), user_id=user.pk))
    write_events(events)

    rows = {r.metric: r for r in analyze_experiment(experiment, as_of=NOW).comparisons["raw"]}
    got = {key: (rows[key].control_value, rows[key].treatment_value) for key in rows}
    assert got == {
        "shares_per_user": (2.0, 3.0),  # (1 + 3) / 2, (2 + 4) / 2
        "follows_per_user": (1.0, 2.0),  # (0 + 2) / 2, (1 + 3) / 2
        "errors_per_user": (1.0, 0.0),
        "rebuffers_per_play": (0.5, 1.0),  # (0 + 2) / 4 plays, (1 + 3) / 4
        "retention_d7": (0.5, 0.5),
    }
