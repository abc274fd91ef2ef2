"""The staff console and the audit (issue 20): every change to a flag, layer or experiment
leaves one audit row saying who, when and what; the console's forms refuse bad flags, bad
metric definitions, a running experiment's new allocation and a flag change that would break
a live arm, in words, and write nothing then."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from apps.core.models import AuditEvent
from apps.experiments import services
from apps.experiments.admin import ExperimentForm
from apps.experiments.models import Experiment, Flag, Metric
from apps.experiments.rules import RuleError
from tests.experiments.flag_helpers import fresh_config, primary_metric, ranker_flag
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_config")]
__all__ = ["fresh_config"]

ARMS = [
    {"key": "control", "weight": 1, "values": {}},
    {"key": "treatment", "weight": 1, "values": {"feed.ranker": "v2"}},
]


@pytest.fixture
def staff() -> Any:
    return UserFactory(is_staff=True, is_superuser=True, username="exp-staff")


@pytest.fixture
def web(staff: Any) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def _rows(verb: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(app="experiments", verb=verb).order_by("created_at"))


def test_every_change_through_the_services_is_audited_with_who_when_and_what(staff: Any):
    flag = services.flag_save(
        actor=staff, key="ui.banner", default_value=False, reason="new banner", ip="10.0.0.7"
    )
    [created] = _rows("flag_create")
    assert (created.actor_id, created.target_type, created.target_id) == (staff.pk, "flag", flag.pk)
    assert created.reason == "new banner"
    assert created.ip == "10.0.0.7"
    assert created.created_at is not None
    assert created.data["values"]["default_value"] is False

    services.flag_save(actor=staff, key="ui.banner", default_value=True)
    [updated] = _rows("flag_update")
    assert updated.data == {"changed": {"default_value": True}}  # the diff, nothing else
    services.flag_save(actor=staff, key="ui.banner", default_value=True)  # no change
    assert len(_rows("flag_update")) == 1
    assert services.flag_set_enabled(actor=staff, flag=flag, enabled=False)
    assert len(_rows("flag_kill")) == 1

    ranker_flag()
    layer = services.layer_create(actor=staff, key="ranking")
    exp = services.experiment_create(
        actor=staff, key="exp-audit", layer=layer, traffic_percent=10, arms=ARMS
    )
    services.experiment_update(actor=staff, experiment=exp, traffic_percent=20)
    [changed] = _rows("experiment_update")
    assert changed.data["changed"] == {"bucket_end": 2000}  # 20 % of the layer's buckets
    primary_metric(exp)
    services.experiment_start(actor=staff, experiment=exp)
    services.experiment_stop(actor=staff, experiment=exp)
    old_salt = Experiment.objects.get(pk=exp.pk).salt
    services.experiment_restart(actor=staff, experiment=exp, reason="bug in arm")
    [restart] = _rows("experiment_restart")
    assert restart.data["old_salt"] == old_salt != restart.data["salt"]
    assert restart.reason == "bug in arm"
    for verb in (
        "layer_create",
        "experiment_create",
        "experiment_start",
        "experiment_stop",
        "experiment_restart",
    ):
        [row] = _rows(verb)
        assert row.actor_id == staff.pk, verb


def test_a_flag_change_that_would_break_a_live_arm_is_refused(staff: Any):
    ranker_flag()
    layer = services.layer_create(actor=staff, key="ranking")
    exp = services.experiment_create(
        actor=staff, key="exp-live", layer=layer, traffic_percent=10, arms=ARMS
    )
    with pytest.raises(RuleError, match="'v2' is not one of the flag's variations"):
        services.flag_save(
            actor=staff,
            key="feed.ranker",
            kind="multivariate",
            default_value="active",
            variations=["active", "heuristic"],
        )
    with pytest.raises(RuleError, match="its kind cannot change"):
        services.flag_save(actor=staff, key="feed.ranker", kind="boolean", default_value=False)
    assert Flag.objects.get(key="feed.ranker").variations == ["active", "heuristic", "v2"]
    # a draft counts as live; once the experiment is stopped the flag may change
    primary_metric(exp)
    services.experiment_start(actor=staff, experiment=exp)
    services.experiment_stop(actor=staff, experiment=exp)
    services.flag_save(
        actor=staff,
        key="feed.ranker",
        kind="multivariate",
        default_value="active",
        variations=["active", "heuristic"],
    )


def _flag_post(**overrides: Any) -> dict[str, str]:
    data = {
        "key": "ui.console",
        "environment": "production",
        "description": "",
        "kind": "boolean",
        "default_value": "false",
        "variations": "[]",
        "rules": "[]",
        "enabled": "on",
        "client_visible": "on",
    }
    data.update(overrides)
    return data


def test_the_flag_form_refuses_bad_rules_in_words_and_audits_a_good_flag(web: Client):
    bad = json.dumps([{"when": {"planet": ["mars"]}, "value": True}])
    response = web.post("/django-admin/experiments/flag/add/", _flag_post(rules=bad))
    assert response.status_code == 200
    assert "unknown condition &#x27;planet&#x27;" in response.content.decode()
    assert not Flag.objects.exists()

    good = json.dumps([{"when": {"country": ["GB"]}, "value": True}])
    response = web.post("/django-admin/experiments/flag/add/", _flag_post(rules=good))
    assert response.status_code == 302, response.content.decode()[:2000]
    flag = Flag.objects.get(key="ui.console")
    assert flag.rules[0]["when"] == {"country": ["GB"]}
    [row] = _rows("flag_add")
    assert row.target_id == flag.pk
    assert row.data["changed"]["key"] == "ui.console"


def test_the_flag_form_refuses_a_change_that_breaks_a_live_arm(web: Client):
    flag = ranker_flag()
    layer = services.layer_create(actor=None, key="ranking")
    services.experiment_create(actor=None, key="exp-f", layer=layer, traffic_percent=10, arms=ARMS)
    url = f"/django-admin/experiments/flag/{flag.pk}/change/"
    base = _flag_post(
        key="feed.ranker",
        kind="multivariate",
        default_value='"active"',
        variations='["active", "heuristic", "v2"]',
    )
    for overrides, words in [
        ({"variations": '["active", "heuristic"]'}, "value &#x27;v2&#x27; is not one of"),
        ({"key": "feed.ranker2"}, "its key and environment cannot change"),
        ({"environment": "dev"}, "its key and environment cannot change"),
    ]:
        response = web.post(url, {**base, **overrides})
        assert response.status_code == 200, overrides
        errors = response.context["adminform"].form.errors
        assert words in response.content.decode(), (overrides, errors)
    stored = Flag.objects.get(pk=flag.pk)
    assert (stored.key, stored.environment, stored.variations) == (
        "feed.ranker",
        "production",
        ["active", "heuristic", "v2"],
    )
    assert not _rows("flag_change")
    # a change that keeps the arm's value is fine
    response = web.post(url, {**base, "description": "the For You ranker"})
    assert response.status_code == 302
    assert len(_rows("flag_change")) == 1


def _metric_post(**overrides: str) -> dict[str, str]:
    data = {
        "key": "comments_per_user",
        "name": "Comments per user",
        "description": "",
        "kind": "mean",
        "quantile": "",
        "higher_is_better": "on",
        "unit": "",
        "scale": "1.0",
        "numerator_source": "events",
        "numerator_event_type": "comment",
        "numerator_aggregation": "count",
        "numerator_field": "",
        "numerator_table": "",
        "numerator_day": "",
        "denominator_source": "",
        "denominator_event_type": "",
        "denominator_aggregation": "",
        "denominator_field": "",
        "denominator_table": "",
        "denominator_day": "",
    }
    data.update(overrides)
    return data


def test_a_metric_is_defined_in_the_console_and_unknown_events_are_refused(web: Client):
    url = "/django-admin/experiments/metric/add/"
    response = web.post(url, _metric_post(numerator_event_type="comment,teleport"))
    assert response.status_code == 200
    assert "Unknown event type &#x27;teleport&#x27;" in response.content.decode()
    response = web.post(url, _metric_post(kind="ratio"))
    assert response.status_code == 200
    assert "needs its denominator" in response.content.decode()
    assert not Metric.objects.filter(key="comments_per_user").exists()

    response = web.post(url, _metric_post())
    assert response.status_code == 302, response.content.decode()[:2000]
    metric = Metric.objects.get(key="comments_per_user")
    assert metric.numerator.event_types == ("comment",)
    [row] = _rows("metric_add")
    assert row.target_id == metric.pk


def test_a_running_experiments_allocation_cannot_change_on_its_form(staff: Any):
    ranker_flag()
    layer = services.layer_create(actor=staff, key="ranking")
    exp = services.experiment_create(
        actor=staff, key="exp-form", layer=layer, traffic_percent=10, arms=ARMS
    )
    primary_metric(exp)
    exp = services.experiment_start(actor=staff, experiment=exp)
    base = {
        "key": exp.key,
        "name": "renamed",
        "hypothesis": "",
        "environment": exp.environment,
        "layer": str(layer.pk),
        "traffic_percent": "10",
        "holdout_percent": "0",
        "arms": json.dumps(exp.arms),
        "conditions": "{}",
    }
    assert ExperimentForm(data=base, instance=exp).is_valid()  # a new name is fine
    for overrides in (
        {"traffic_percent": "20"},
        {"holdout_percent": "5"},
        {"arms": json.dumps([{**ARMS[0], "weight": 3}, ARMS[1]])},
        {"conditions": json.dumps({"country": ["GB"]})},
    ):
        form = ExperimentForm(data={**base, **overrides}, instance=exp)
        assert not form.is_valid(), overrides
        assert "is running: its allocation" in str(form.errors), overrides
