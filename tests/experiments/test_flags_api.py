"""GET /api/v1/flags (strong ETag, 304), POST /api/v1/flags/exposures (the server decides
the arm), the flags in the web page, and what clients may not do."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.experiments import config, services
from apps.experiments.models import Assignment
from tests.contract.helpers import call, served_schema, sign_in
from tests.events.helpers import event, logged_events
from tests.experiments.flag_helpers import STAFF, fresh_config, ranker_flag, running_experiment
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_config")]
__all__ = ["fresh_config"]
URL = "/api/v1/flags"


def _flags() -> None:
    ranker_flag()
    services.flag_save(actor=STAFF, key="ui.ios_only", rules=[
        {"when": {"platform": ["ios"], "app_version": {"min": "2.0"}}, "value": True}])
    services.flag_save(actor=STAFF, key="ops.server_only", default_value=True,
                       client_visible=False)
    running_experiment("exp-api", services.layer_create(actor=STAFF, key="ranking"))


def _exposures() -> list[dict[str, Any]]:
    return [e for e in logged_events() if e["type"] == "exposure"]


def test_flags_answer_by_platform_and_version_with_a_strong_etag_and_304():
    _flags()
    client = APIClient()
    response = client.get(URL, HTTP_X_DEVICE_ID="dev-42", HTTP_X_CLIENT_PLATFORM="ios",
                          HTTP_X_APP_VERSION="2.3.0")
    assert response.status_code == 200
    body = response.json()
    assert body["flags"]["ui.ios_only"] == {"value": True, "experiment": None}
    assert body["flags"]["feed.ranker"]["experiment"] == "exp-api"
    assert "ops.server_only" not in body["flags"]
    etag = response["ETag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    again = client.get(URL, HTTP_X_DEVICE_ID="dev-42", HTTP_X_CLIENT_PLATFORM="ios",
                       HTTP_X_APP_VERSION="2.3.0", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    # another platform is another answer: the old ETag does not match
    web = client.get(URL, HTTP_X_DEVICE_ID="dev-42", HTTP_IF_NONE_MATCH=etag)
    assert web.status_code == 200
    assert web.json()["flags"]["ui.ios_only"]["value"] is False
    # a change to what this caller gets changes the ETag
    services.flag_save(actor=STAFF, key="ui.ios_only", rules=[])
    config.forget()
    changed = client.get(URL, HTTP_X_DEVICE_ID="dev-42", HTTP_X_CLIENT_PLATFORM="ios",
                         HTTP_X_APP_VERSION="2.3.0", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200
    assert changed.json()["flags"]["ui.ios_only"]["value"] is False
    assert changed["ETag"] != etag
    assert _exposures() == []  # listing flags is not using them


def test_the_answer_conforms_to_the_served_schema():
    _flags()
    token = sign_in(UserFactory().username)
    response = call("GET", URL, token=token)
    assert response.status_code == 200
    served_schema()[URL]["GET"].validate_response(response)
    posted = call("POST", f"{URL}/exposures", token=token, json={"experiments": ["exp-api"]})
    assert posted.status_code == 200, posted.get_data()
    served_schema()[f"{URL}/exposures"]["POST"].validate_response(posted)


def test_exposures_are_decided_by_the_server_and_logged_once():
    _flags()
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    response = client.post(f"{URL}/exposures", {"experiments": ["exp-api", "nope", "exp-api"]},
                           format="json")
    assert response.status_code == 200
    assert response.json() == {"recorded": 1}
    client.post(f"{URL}/exposures", {"experiments": ["exp-api"]}, format="json")
    events = _exposures()
    row = Assignment.objects.get()
    assert row.unit == f"u:{user.pk}"
    assert [e["data"] for e in events] == [{"experiment": "exp-api", "arm": row.arm}]


@pytest.mark.parametrize("body", [{}, {"experiments": []}, {"experiments": "exp-api"},
                                  {"experiments": ["x" * 65]},
                                  {"experiments": [f"e{i}" for i in range(51)]}])
def test_bad_exposure_input_is_a_400_in_the_error_shape(body: dict[str, Any]):
    response = APIClient().post(f"{URL}/exposures", body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"]
    assert error["code"]
    assert _exposures() == []


def test_a_client_cannot_send_an_exposure_event_itself():
    client = APIClient()
    client.force_authenticate(UserFactory())
    forged = event("exposure", experiment="exp-api", arm="treatment")
    response = client.post("/api/v1/events", {"events": [forged]}, format="json")
    assert response.status_code == 200
    assert response.json()["accepted"] == 0
    assert response.json()["rejected"][0]["error"]["fields"]["type"]
    assert _exposures() == []


def test_the_web_page_carries_the_flags_as_data_not_script():
    _flags()
    client = Client()
    client.force_login(UserFactory())
    page = client.get("/", HTTP_ACCEPT="text/html").content.decode()
    assert '<script id="swipeme-flags" type="application/json">' in page
    assert '"feed.ranker"' in page
    assert "js/flags.js" in page
    assert _exposures() == []


def test_evaluating_flags_costs_no_query_once_the_configuration_is_loaded():
    _flags()
    client = APIClient()
    client.get(URL, HTTP_X_DEVICE_ID="warm")

    def experiment_queries(**headers: Any) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(URL, **headers).status_code == 200
        return [q["sql"] for q in queries.captured_queries if "experiments_" in q["sql"]]

    # a visitor: none (its stored arm is its hashed arm); a signed-in user: the one
    # sticky-assignment look-up, whatever the number of flags
    assert experiment_queries(HTTP_X_DEVICE_ID="dev-x") == []
    client.force_authenticate(UserFactory())
    assert len(experiment_queries(HTTP_X_DEVICE_ID="dev-y")) == 1
