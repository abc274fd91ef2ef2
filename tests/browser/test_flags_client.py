"""The web client's flags: the page carries the viewer's evaluated flags, static/js/flags.js
returns an experiment's value and reports the exposure once (the server stores the arm it
decided); a signed-out visitor gets a device id. Plus the staff console's experiment form."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page

from apps.experiments import services
from apps.experiments.evaluation import assign, unit_for
from apps.experiments.models import Assignment, ExperimentMetric
from tests.browser.conftest import DESKTOP, PageErrors, screenshot
from tests.experiments.flag_helpers import standard_metric
from tests.factories import UserFactory


def _experiment() -> Any:
    services.flag_save(actor=None, key="ui.banner", kind="multivariate",
                       default_value="none", variations=["none", "blue", "green"])
    layer = services.layer_create(actor=None, key="ui-browser")
    exp = services.experiment_create(
        actor=None, key="banner-colour", layer=layer, traffic_percent=100, arms=[
            {"key": "blue", "weight": 1, "values": {"ui.banner": "blue"}},
            {"key": "green", "weight": 1, "values": {"ui.banner": "green"}}])
    ExperimentMetric.objects.create(experiment=exp, metric=standard_metric(),
                                    role="primary")
    return services.experiment_start(actor=None, experiment=exp)


def _wait_for(predicate: Callable[[], bool], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def test_the_page_flags_and_the_exposure_on_use(logged_in_page: Callable[..., Page],
                                                page_errors: PageErrors, page: Page):
    exp = _experiment()
    user = UserFactory(username="flag-viewer")
    arm = assign("banner-colour", unit_for(user), expose=False)
    time.sleep(2.5)  # the server process re-reads the configuration every 2 s
    viewer_page = logged_in_page(user)
    viewer_page.goto("/")
    viewer_page.wait_for_function("() => window.swipemeFlags !== undefined")
    assert viewer_page.evaluate("() => window.swipemeFlags.peek()")["ui.banner"] == arm
    assert not Assignment.objects.filter(experiment=exp).exists()  # not used yet: no exposure
    with viewer_page.expect_request("**/api/v1/flags/exposures") as sent:
        value = viewer_page.evaluate("() => window.swipemeFlags.flag('ui.banner', 'x')")
    assert value == arm
    assert sent.value.post_data_json == {"experiments": ["banner-colour"]}
    assert _wait_for(lambda: Assignment.objects.filter(experiment=exp).exists())
    row = Assignment.objects.get(experiment=exp)
    assert (row.unit, row.arm) == (f"u:{user.pk}", arm)
    # used again on this page and the next: not reported again today
    viewer_page.evaluate("() => window.swipemeFlags.flag('ui.banner')")
    viewer_page.reload()
    viewer_page.wait_for_function("() => window.swipemeFlags !== undefined")
    reported: list[str] = []
    viewer_page.on("request", lambda r: reported.append(r.url)
                   if "/flags/exposures" in r.url else None)
    viewer_page.evaluate("() => window.swipemeFlags.flag('ui.banner')")
    viewer_page.wait_for_timeout(600)
    assert reported == []
    assert page_errors.uncaught == []

    # a signed-out visitor gets a device id cookie for later pages
    page.goto("/")
    page.wait_for_function("() => window.swipemeFlags !== undefined")
    assert any(c["name"] == "swipeme_did" for c in page.context.cookies())


def test_the_experiment_form_refuses_a_layer_above_100_percent(
        logged_in_page: Callable[..., Page]):
    services.flag_save(actor=None, key="ui.card", kind="multivariate", default_value="a",
                       variations=["a", "b"])
    layer = services.layer_create(actor=None, key="ui-form")
    services.experiment_create(actor=None, key="card-a", layer=layer, traffic_percent=80, arms=[
        {"key": "a", "weight": 1, "values": {}},
        {"key": "b", "weight": 1, "values": {"ui.card": "b"}}])
    staff = UserFactory(is_staff=True, is_superuser=True, username="flag-staff")
    admin_page = logged_in_page(staff, viewport=DESKTOP)
    admin_page.goto("/django-admin/experiments/experiment/add/")
    admin_page.fill("input[name='key']", "card-b")
    admin_page.select_option("select[name='layer']", label="ui-form")
    admin_page.fill("input[name='traffic_percent']", "40")
    admin_page.fill("textarea[name='arms']", '[{"key": "a", "weight": 1, "values": {}}, '
                    '{"key": "b", "weight": 1, "values": {"ui.card": "b"}}]')
    admin_page.fill("textarea[name='conditions']", "{}")
    admin_page.click("input[name='_save']")
    error = admin_page.locator(".errornote, .errorlist").first
    error.wait_for()
    assert "20 % of its traffic free" in admin_page.locator("#content").inner_text()
    screenshot(admin_page, "experiment-form-layer-full", full_page=True)
