from __future__ import annotations

import pytest

from apps.core.throttles import recorded_requests

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.core.views_for_tests")]


def _error(response):
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) >= {"code", "message", "fields"}
    return body["error"]


def test_malformed_json_is_a_400_in_the_error_shape(api_client):
    response = api_client.post(
        "/api/v1/echo", data=b'{"name": "x", ', content_type="application/json"
    )
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


def test_wrong_types_and_huge_values_name_the_fields(api_client):
    response = api_client.post(
        "/api/v1/echo",
        {"name": "x" * 5000, "age": "old", "tags": ["ok", "way-too-long"]},
        format="json",
    )
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"name", "age", "tags.1"}
    assert error["message"]


def test_missing_fields_are_reported(api_client):
    error = _error(api_client.post("/api/v1/echo", {}, format="json"))
    assert set(error["fields"]) == {"name", "age"}


def test_a_json_array_instead_of_an_object_is_a_400(api_client):
    response = api_client.post("/api/v1/echo", [1, 2, 3], format="json")
    assert response.status_code == 400
    assert _error(response)["fields"]


def test_application_errors_keep_their_status_and_code(api_client):
    response = api_client.post("/api/v1/echo", {"name": "taken", "age": 3}, format="json")
    assert response.status_code == 409
    assert _error(response)["code"] == "name_taken"


def test_django_validation_errors_from_services_become_400(api_client):
    response = api_client.post("/api/v1/echo", {"name": "model", "age": 3}, format="json")
    assert response.status_code == 400
    assert _error(response)["fields"] == {"name": ["Refused by the model."]}


def test_unknown_api_path_is_a_json_404(api_client):
    response = api_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert _error(response)["code"] == "not_found"


def test_wrong_method_is_a_405_in_the_error_shape(api_client):
    response = api_client.delete("/api/v1/ping")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"


def test_writes_are_throttled_in_redis_and_reads_are_not(api_client):
    # given: three writes allowed per minute
    for _ in range(3):
        assert (
            api_client.post("/api/v1/echo", {"name": "a", "age": 1}, format="json").status_code
            == 201
        )

    # when
    response = api_client.post("/api/v1/echo", {"name": "a", "age": 1}, format="json")

    # then
    assert response.status_code == 429
    error = _error(response)
    assert error["code"] == "throttled"
    assert 0 < error["retry_after"] <= 60
    assert response["Retry-After"]
    assert recorded_requests("throttle_write_burst_127.0.0.1") == 3
    assert api_client.get("/api/v1/echo").status_code == 200


def test_server_errors_under_api_are_json(client):
    from django.test import RequestFactory

    from apps.core.views import api_server_error

    response = api_server_error(RequestFactory().get("/api/v1/anything"))
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
