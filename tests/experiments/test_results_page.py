"""The results page's access and its refusals in words (the browser test covers the page),
and a sample-ratio block's reason on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from apps.experiments.analysis.compute import analyze
from apps.experiments.models import Experiment, Layer, ResultSnapshot
from tests.experiments.test_analysis_compute import _spec, final_only_mismatch
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _experiment(**fields: object) -> Experiment:
    layer = Layer.objects.create(key="page-layer")
    base: dict[str, object] = {
        "key": "page-exp",
        "layer": layer,
        "arms": [{"key": "control", "weight": 50}, {"key": "treatment", "weight": 50}],
    }
    base.update(fields)
    return Experiment.objects.create(**base)


def _url(experiment: Experiment) -> str:
    return f"/django-admin/experiments/resultsnapshot/experiment/{experiment.pk}/"


def test_only_staff_see_results():
    experiment = _experiment()
    client = Client()
    client.force_login(UserFactory())
    response = client.get(_url(experiment))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_no_results_yet_and_a_refused_computation_say_why():
    experiment = _experiment()  # a draft: never started, no primary metric
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(_url(experiment)).content.decode()
    assert "No results yet" in page

    response = client.post(_url(experiment), follow=True)

    text = response.content.decode()
    assert "The results could not be computed" in text
    assert "has not started" in text
    assert not ResultSnapshot.objects.filter(experiment=experiment).exists()


@pytest.mark.parametrize("stopped", [False, True])
def test_a_mismatch_found_at_the_final_analysis_blocks_the_page_in_words(stopped: bool):
    # the same counts (10,290 / 9,710 against 50/50): running, the always-valid test does not
    # block (p 0.0033); stopped, the final chi-squared look does (p 4.1e-5), and says so
    status = Experiment.Status.STOPPED if stopped else Experiment.Status.RUNNING
    experiment = _experiment(status=status, started_at=datetime(2026, 12, 1, tzinfo=UTC))
    table, plan = final_only_mismatch(ended=stopped)
    ResultSnapshot.objects.create(
        experiment=experiment,
        day=datetime(2026, 12, 6, tzinfo=UTC).date(),
        as_of=datetime(2026, 12, 6, tzinfo=UTC),
        payload=analyze(table, [_spec("watch")], plan).as_json(),
    )
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = client.get(_url(experiment)).content.decode()
    if stopped:
        assert "Results blocked" in page
        assert (
            "Sample ratio mismatch (chi-squared 16.8, p = 4.1e-05 &lt; 0.001 at the final" in page
        )
        assert "treatment: 10,290 units (expected 10,000)" in page
        assert 'id="exp-metrics"' not in page
    else:
        assert "Results blocked" not in page
        assert "sample-ratio check p = 0.003" in page
        assert 'id="exp-metrics"' in page
