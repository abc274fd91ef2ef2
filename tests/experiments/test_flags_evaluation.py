"""Flag evaluation: targeting rules, schedules, rollouts, the kill switch, environments;
experiments: layers' exclusivity, holdouts, sticky assignment, exposure only on use."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.experiments import config, services
from apps.experiments.evaluation import Evaluation, assign, unit_for, value
from apps.experiments.models import Assignment, Experiment
from apps.experiments.models.experiments import HOLDOUT_ARM
from apps.experiments.rules import RuleError, Unit
from tests.events.helpers import logged_events
from tests.experiments.flag_helpers import STAFF, fresh_config, ranker_flag, running_experiment
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_config")]
__all__ = ["fresh_config"]


def _exposures() -> list[dict[str, Any]]:
    return [e for e in logged_events() if e["type"] == "exposure"]


def _ev(unit: Unit, **kw: Any) -> Evaluation:
    config.forget()
    return Evaluation(unit, **kw)


def test_rules_match_in_order_and_the_default_is_the_fallback():
    services.flag_save(
        actor=STAFF,
        key="ui.theme",
        kind="multivariate",
        default_value="dark",
        variations=["dark", "light", "neon"],
        rules=[
            {"id": "staff", "when": {"staff": True}, "value": "neon"},
            {
                "when": {
                    "country": ["gb"],
                    "platform": ["ios"],
                    "app_version": {"min": "3.2", "max": "4.0.0"},
                },
                "value": "light",
            },
        ],
    )
    assert value("ui.theme", Unit(user_id=1, is_staff=True, country="GB")) == "neon"
    assert (
        value("ui.theme", Unit(user_id=2, country="GB", platform="ios", app_version="3.10.1"))
        == "light"
    )
    assert (
        value("ui.theme", Unit(user_id=3, country="GB", platform="ios", app_version="4.1"))
        == "dark"
    )
    assert (
        value("ui.theme", Unit(user_id=4, country="GB", platform="android", app_version="3.5"))
        == "dark"
    )
    assert value("ui.unknown", Unit(user_id=1), default=7) == 7


def test_user_lists_age_bands_and_languages():
    teen = UserFactory(date_of_birth=date.today() - timedelta(days=365 * 15 + 30))
    adult = UserFactory(language="fr-CA")
    services.flag_save(
        actor=STAFF,
        key="ui.beta",
        rules=[
            {"when": {"users": [str(adult.pk)]}, "value": True},
            {"when": {"age_band": ["13-15"]}, "value": True},
        ],
    )
    services.flag_save(
        actor=STAFF, key="ui.french", rules=[{"when": {"language": ["fr"]}, "value": True}]
    )
    assert value("ui.beta", adult) is True
    assert value("ui.beta", teen) is True
    assert value("ui.beta", UserFactory()) is False
    assert value("ui.french", adult) is True
    assert value("ui.french", teen) is False


def test_a_schedule_opens_and_closes_a_rule():
    start = timezone.now() + timedelta(hours=1)
    services.flag_save(
        actor=STAFF,
        key="ui.promo",
        rules=[
            {
                "value": True,
                "start": start.isoformat(),
                "end": (start + timedelta(hours=2)).isoformat(),
            }
        ],
    )
    unit = Unit(user_id=5)
    assert _ev(unit).value("ui.promo") is False
    assert _ev(unit, now=start + timedelta(minutes=1)).value("ui.promo") is True
    assert _ev(unit, now=start + timedelta(hours=3)).value("ui.promo") is False


def test_a_percentage_rollout_takes_its_share_and_needs_a_unit():
    services.flag_save(
        actor=STAFF,
        key="ui.new_player",
        rules=[{"value": True, "rollout": {"percent": 20, "salt": "np"}}],
    )
    config.forget()
    on = sum(Evaluation(Unit(user_id=i)).value("ui.new_player") for i in range(4000))
    assert 650 < on < 950
    assert value("ui.new_player", Unit()) is False  # no user, no device: not rolled out


def test_the_kill_switch_beats_rules_and_experiments(django_user_model: Any):
    flag = ranker_flag(rules=[{"value": "heuristic"}])
    layer = services.layer_create(actor=STAFF, key="ranking")
    running_experiment(
        "ranker-v2",
        layer,
        arms=[
            {"key": "a", "weight": 1, "values": {"feed.ranker": "v2"}},
            {"key": "b", "weight": 1, "values": {"feed.ranker": "v2"}},
        ],
    )
    unit = Unit(user_id=11)
    assert _ev(unit).value("feed.ranker") == "v2"
    assert services.flag_set_enabled(actor=STAFF, flag=flag, enabled=False) is True
    assert _ev(unit).value("feed.ranker") == "active"
    assert services.flag_set_enabled(actor=STAFF, flag=flag, enabled=False) is False


def test_environments_do_not_mix():
    services.flag_save(actor=STAFF, key="ui.dev_only", environment="dev", default_value=True)
    assert value("ui.dev_only", Unit(user_id=1), default="absent") == "absent"
    with override_settings(SWIPEME_FLAGS_ENVIRONMENT="dev"):
        config.forget()
        assert value("ui.dev_only", Unit(user_id=1)) is True


def test_experiments_in_one_layer_are_mutually_exclusive():
    ranker_flag()
    services.flag_save(
        actor=STAFF, key="ads.load", kind="multivariate", default_value=7, variations=[5, 7, 10]
    )
    layer = services.layer_create(actor=STAFF, key="ranking")
    running_experiment("exp-a", layer, traffic=50)
    running_experiment(
        "exp-b",
        layer,
        traffic=50,
        arms=[
            {"key": "control", "weight": 1, "values": {}},
            {"key": "more-ads", "weight": 1, "values": {"ads.load": 5}},
        ],
    )
    config.forget()
    in_a = in_b = 0
    for i in range(3000):
        ev = Evaluation(Unit(user_id=i), log_exposures=False)
        a, b = ev.arm("exp-a", expose=False), ev.arm("exp-b", expose=False)
        assert a is None or b is None, i
        in_a += a is not None
        in_b += b is not None
    assert in_a + in_b == 3000
    assert 1300 < in_a < 1700


def test_a_layer_above_100_percent_is_refused_with_what_is_free():
    ranker_flag()
    layer = services.layer_create(actor=STAFF, key="ranking")
    running_experiment("exp-a", layer, traffic=70)
    with pytest.raises(RuleError, match=r"30 % of its traffic free.*asks for 40 %"):
        services.experiment_create(
            actor=STAFF,
            key="exp-b",
            layer=layer,
            traffic_percent=40,
            arms=[
                {"key": "c", "weight": 1, "values": {}},
                {"key": "t", "weight": 1, "values": {"feed.ranker": "v2"}},
            ],
        )
    assert not Experiment.objects.filter(key="exp-b").exists()


def test_a_holdout_keeps_its_share_on_the_defaults_and_is_exposed_as_holdout():
    ranker_flag()
    layer = services.layer_create(actor=STAFF, key="ranking")
    running_experiment("exp-h", layer, holdout=20)
    config.forget()
    arms: dict[str | None, int] = {}
    for i in range(4000):
        ev = Evaluation(Unit(user_id=i), log_exposures=False)
        got = ev.value("feed.ranker")
        arm = ev.exposed.get("exp-h")
        arms[arm] = arms.get(arm, 0) + 1
        assert got == ("v2" if arm == "treatment" else "active")
    assert 650 < arms[HOLDOUT_ARM] < 950
    assert None not in arms  # 100 % of the layer: every unit is in the experiment
    assert 1400 < arms["treatment"] < 1800


def test_exposure_is_logged_only_when_the_value_is_read_and_once_a_day():
    ranker_flag()
    services.flag_save(actor=STAFF, key="ui.other", default_value=False)
    layer = services.layer_create(actor=STAFF, key="ranking")
    running_experiment("exp-x", layer)
    user = UserFactory()
    ev = _ev(unit_for(user))
    assert ev.value("ui.other") is False  # a flag no arm sets: no exposure
    assert _exposures() == []
    assert not Assignment.objects.exists()
    arm = ev.value("feed.ranker") and ev.exposed["exp-x"]
    ev.value("feed.ranker")
    _ev(unit_for(user)).value("feed.ranker")  # another request the same day
    events = _exposures()
    assert [e["data"] for e in events] == [{"experiment": "exp-x", "arm": arm}]
    row = Assignment.objects.get()
    assert (row.unit, row.arm) == (f"u:{user.pk}", arm)


def test_the_flags_list_itself_logs_no_exposure():
    ranker_flag()
    layer = services.layer_create(actor=STAFF, key="ranking")
    running_experiment("exp-x", layer)
    values = _ev(Unit(user_id=99)).client_values()
    assert values["feed.ranker"]["experiment"] == "exp-x"
    assert _exposures() == []


def test_assignment_is_sticky_and_a_visitor_who_signs_in_keeps_the_device_arm():
    ranker_flag()
    layer = services.layer_create(actor=STAFF, key="ranking")
    exp = running_experiment("exp-s", layer)
    # find a device and a user that hash into different arms
    device_arm = assign("exp-s", Unit(device_id="dev-1"), expose=False)
    user = next(
        u
        for u in (UserFactory() for _ in range(50))
        if assign("exp-s", Unit(user_id=u.pk), expose=False) != device_arm
    )
    assert assign("exp-s", Unit(device_id="dev-1")) == device_arm  # exposed: stored
    signed_in = unit_for(user, device_id="dev-1")
    assert assign("exp-s", signed_in) == device_arm
    # the user row now carries the arm: on another device too
    assert assign("exp-s", unit_for(user, device_id="phone-2")) == device_arm
    assert Assignment.objects.get(experiment=exp, unit=f"u:{user.pk}").arm == device_arm


def test_a_restart_draws_a_new_salt_and_old_assignments_stop_counting():
    ranker_flag()
    layer = services.layer_create(actor=STAFF, key="ranking")
    exp = running_experiment("exp-r", layer)
    with pytest.raises(RuleError, match="running: its allocation"):
        services.experiment_update(actor=STAFF, experiment=exp, traffic_percent=50)
    for i in range(200):
        assign("exp-r", Unit(user_id=i))
    before = {i: assign("exp-r", Unit(user_id=i), expose=False) for i in range(200)}
    restarted = services.experiment_restart(actor=STAFF, experiment=exp)
    assert restarted.salt != exp.salt
    config.forget()
    after = {i: assign("exp-r", Unit(user_id=i), expose=False) for i in range(200)}
    assert before != after  # a fresh draw, not the stored arms


def test_an_experiment_without_a_primary_metric_cannot_start():
    ranker_flag()
    layer = services.layer_create(actor=STAFF, key="ranking")
    exp = services.experiment_create(
        actor=STAFF,
        key="no-metric",
        layer=layer,
        traffic_percent=10,
        arms=[
            {"key": "c", "weight": 1, "values": {}},
            {"key": "t", "weight": 1, "values": {"feed.ranker": "v2"}},
        ],
    )
    with pytest.raises(RuleError, match="no primary metric"):
        services.experiment_start(actor=STAFF, experiment=exp)
    assert Experiment.objects.get(pk=exp.pk).status == "draft"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"key": "Feed Ranker"}, "lower-case dotted name"),
        ({"key": "safety.filter_off"}, "cannot change safety"),
        ({"key": "minors.dm_open"}, "cannot change safety"),
        ({"rules": [{"when": {"planet": ["mars"]}, "value": True}]}, "unknown condition 'planet'"),
        ({"rules": [{"when": {"country": ["USA"]}, "value": True}]}, "ISO 3166-1"),
        ({"rules": [{"when": {"platform": ["symbian"]}, "value": True}]}, "'symbian' is not one"),
        (
            {"rules": [{"when": {"app_version": {"min": "4", "max": "3"}}, "value": True}]},
            "min 4 is above max 3",
        ),
        ({"rules": [{"when": {"app_version": {"min": "latest"}}, "value": True}]}, "not a version"),
        ({"rules": [{"value": "yes"}]}, "true or false"),
        ({"rules": [{"value": True, "rollout": {"percent": 140}}]}, "0 to 100"),
        ({"rules": [{"value": True, "start": "tomorrow"}]}, "ISO 8601"),
        ({"rules": [{"when": {"country": ["US"]}}]}, "'value' is required"),
    ],
)
def test_invalid_flags_are_refused_with_a_clear_error(kwargs: dict[str, Any], message: str):
    args = {"actor": STAFF, "key": "ui.thing", **kwargs}
    with pytest.raises(RuleError, match=message):
        services.flag_save(**args)


def test_arms_must_set_existing_flags_to_their_variations():
    ranker_flag()
    layer = services.layer_create(actor=STAFF, key="ranking")
    bad = [
        ([{"key": "c", "weight": 1, "values": {}}], "at least two arms"),
        (
            [
                {"key": "c", "weight": 1, "values": {}},
                {"key": "t", "weight": 1, "values": {"feed.nothing": 1}},
            ],
            "no flag 'feed.nothing'",
        ),
        (
            [
                {"key": "c", "weight": 1, "values": {}},
                {"key": "t", "weight": 1, "values": {"feed.ranker": "v9"}},
            ],
            "not one of the flag",
        ),
        (
            [
                {"key": "c", "weight": 0, "values": {}},
                {"key": "t", "weight": 1, "values": {"feed.ranker": "v2"}},
            ],
            "positive number",
        ),
        (
            [
                {"key": "c", "weight": 1, "values": {}},
                {"key": "t", "weight": 1, "values": {"privacy.private_default": False}},
            ],
            "cannot change safety",
        ),
    ]
    for arms, message in bad:
        with pytest.raises(RuleError, match=message):
            services.experiment_create(
                actor=STAFF, key="e", layer=layer, traffic_percent=10, arms=arms
            )
    assert not Experiment.objects.exists()
