"""What the external schema review found, each checked on its own (without schemathesis's
random cases): the served schema describes what the API answers. Responses are checked
against the served schema with schemathesis's validator; the generic tests sweep every
operation of a kind, so the same mistake elsewhere is caught too."""

from __future__ import annotations

import json
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from jsonschema import Draft4Validator, FormatChecker  # type: ignore[import-untyped]

from apps.accounts.models import Device
from apps.ads.services import orgs
from apps.content.models import Sound
from apps.engagement.services import collection_create
from apps.live.models import LiveStream
from apps.media.models import CaptionTrack
from apps.messaging import services as messaging
from apps.monetization.models import SubscriptionTier
from tests.ads.core_helpers import campaign_for, group_for
from tests.content.factories import MediaAssetFactory
from tests.contract.helpers import call, served_schema, sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HTTP_METHODS = ("get", "put", "post", "patch", "delete")


def _raw() -> dict[str, Any]:
    raw: dict[str, Any] = served_schema().raw_schema
    return raw


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        section, name = node["$ref"].removeprefix("#/components/").split("/")
        node = _raw()["components"][section][name]
    return node


def _json(response: Any) -> Any:
    return response.get_json()


def _conforms(method: str, path: str, response: Any) -> None:
    """Status code, content type and body as the served schema documents them."""
    served_schema()[path][method.upper()].validate_response(response)


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, item[method]) for path, item in _raw()["paths"].items()
            for method in HTTP_METHODS if method in item]


@pytest.fixture
def me() -> Any:
    return UserFactory()


@pytest.fixture
def token(me: Any) -> str:
    return sign_in(me.username)


def test_me_before_any_username_change_conforms(me: Any, token: str) -> None:
    """`username_change_available_at` is null until the first change (was: schema said
    a date-time string)."""
    response = call("GET", "/api/v1/me", token=token)
    assert response.status_code == 200
    assert _json(response)["username_change_available_at"] is None
    _conforms("GET", "/api/v1/me", response)


def test_me_of_an_account_without_an_email_address_conforms(me: Any, token: str) -> None:
    """An account can be left with no address: `email` is then "" (was: schema said
    format email, which "" is not)."""
    EmailAddress.objects.filter(user=me).delete()
    type(me).objects.filter(pk=me.pk).update(email="")
    response = call("GET", "/api/v1/me", token=token)
    assert response.status_code == 200
    assert _json(response)["email"] == ""
    email = _resolve(_raw()["paths"]["/api/v1/me"]["get"]["responses"]["200"]["content"]
                     ["application/json"]["schema"])["properties"]["email"]
    assert Draft4Validator(email, format_checker=FormatChecker()).is_valid("")
    assert not Draft4Validator(email, format_checker=FormatChecker()).is_valid("not-an-address")
    _conforms("GET", "/api/v1/me", response)


def test_allauth_flows_as_allauth_lists_them_conform() -> None:
    """allauth lists `password_reset_by_code` (with `is_pending: false`) among the flows of
    an unauthenticated session (was: missing from the flow enum, and `is_pending` only
    `true`). The `{client}` of allauth's paths is fixed to `app`."""
    flow = _raw()["components"]["schemas"]["AuthFlow"]["properties"]
    assert "password_reset_by_code" in flow["id"]["enum"]
    response = call("GET", "/_allauth/app/v1/auth/session")
    assert response.status_code == 401
    flows = {flow["id"]: flow for flow in _json(response)["data"]["flows"]}
    assert flows["password_reset_by_code"]["is_pending"] is False
    _conforms("GET", "/_allauth/app/v1/auth/session", response)
    assert not any("{client}" in path for path in _raw()["paths"])


def test_public_policies_are_documented_as_public() -> None:
    response = call("GET", "/api/v1/moderation/policies")
    assert response.status_code == 200
    _conforms("GET", "/api/v1/moderation/policies", response)
    assert {} in _raw()["paths"]["/api/v1/moderation/policies"]["get"]["security"]


def test_every_operation_answering_signed_out_callers_is_documented_as_public() -> None:
    """The same mistake anywhere: a GET without path parameters that answers a signed-out
    caller with anything but 401 must list `{}` (no authentication) among its security."""
    wrong = []
    for method, path, operation in _operations():
        if method != "get" or "{" in path or not path.startswith("/api/v1/"):
            continue
        response = call("GET", path)
        if response.status_code != 401 and {} not in operation.get("security", [{}]):
            wrong.append((path, response.status_code))
    assert wrong == []


@pytest.mark.parametrize("path", ["/api/v1/me/blocks", "/api/v1/me/sessions",
                                  "/api/v1/me/devices"])
@pytest.mark.parametrize("value", ["banana", "0", "-3", "2.5", ""])
def test_page_size_that_is_not_a_positive_integer_is_a_400(token: str, path: str,
                                                           value: str) -> None:
    """`page_size` is documented as an integer; DRF ignored anything else (was: 200)."""
    response = call("GET", path, token=token, query_string={"page_size": value})
    assert response.status_code == 400, _json(response)
    assert _json(response)["error"]["fields"] == {"page_size": ["A positive integer."]}
    _conforms("GET", path, response)


def test_every_typed_query_parameter_refuses_a_word(me: Any, token: str) -> None:
    """The same mistake anywhere: each boolean, integer or number query parameter of our
    API, given "banana", answers 400 in the error shape, as documented."""
    post_id = "1"
    checked = []
    for method, path, operation in _operations():
        if method != "get" or not path.startswith("/api/v1/"):
            continue
        for parameter in map(_resolve, operation.get("parameters", [])):
            kind = _resolve(parameter.get("schema", {})).get("type")
            if parameter["in"] != "query" or kind not in ("boolean", "integer", "number"):
                continue
            url = path.replace("{username}", me.username).replace("{post_id}", post_id)
            response = call("GET", url, token=token, query_string={parameter["name"]: "banana"})
            checked.append((path, parameter["name"], response.status_code))
            assert response.status_code in (400, 404), (path, parameter["name"], _json(response))
            assert set(_json(response)) == {"error"}
            _conforms("GET", path, response)
    assert len(checked) > 10, checked  # every list's page_size, the feeds' limit


def test_patch_bodies_document_the_fields_they_require(me: Any, token: str) -> None:
    """PATCH bodies were documented with every field optional while single-field ones
    require their field (sounds `allow_reuse`, devices `push_token`, collections `name`,
    engagement settings `show_liked_posts`): an empty PATCH body is refused exactly for the
    fields the schema marks required, for every PATCH operation that takes JSON."""
    sound = Sound.objects.create(kind=Sound.Kind.ORIGINAL, title="mine", original_owner=me)
    collection = collection_create(owner=me, name="keepers")
    member = UserFactory()
    group = messaging.create_group(me, [member.pk], "group")
    message, _ = messaging.send_message(me, group.pk, client_id="c", kind="text", body="hi")
    asset = MediaAssetFactory(owner=me, duration_ms=15_000)
    CaptionTrack.objects.create(asset=asset, language="en", source=CaptionTrack.Source.UPLOADED,
                                state=CaptionTrack.State.READY)
    org = orgs.org_signup(user=me, name="Acme Ads", country="US", currency="USD")
    ad_group = group_for(campaign_for(org, me), me)
    ids = {"{sound_id}": str(sound.pk), "{collection_id}": str(collection.pk),
           "{group_id}": str(ad_group.pk),
           "{asset_id}": str(asset.pk), "{language}": "en",
           "{device_id}": str(Device.objects.get(user=me).pk),
           "{conversation_id}": str(group.pk), "{message_id}": str(message.pk),
           "{user_id}": str(member.pk),
           "{live_id}": str(LiveStream.objects.create(host=me, title="Set up").pk),
           "{tier_id}": str(SubscriptionTier.objects.create(creator=me, name="Gold",
                                                            price_minor=499).pk)}
    seen = {}
    for method, path, operation in _operations():
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if method != "patch" or body is None or path == "/api/v1/posts/{post_id}":
            continue
        url = path
        for name, value in ids.items():
            url = url.replace(name, value)
        assert "{" not in url, f"no object arranged for {path}"
        documented = set(_resolve(body["schema"]).get("required", []))
        response = call("PATCH", url, token=token, data=json.dumps({}),
                        content_type="application/json")
        refused = set(_json(response)["error"]["fields"]) if response.status_code == 400 else set()
        seen[path] = (documented, refused)
        assert refused == documented, (path, response.status_code, _json(response))
        _conforms("PATCH", path, response)
    assert seen["/api/v1/sounds/{sound_id}"] == ({"allow_reuse"}, {"allow_reuse"})
    assert seen["/api/v1/me/devices/{device_id}"] == ({"push_token"}, {"push_token"})
    assert seen["/api/v1/me/collections/{collection_id}"] == ({"name"}, {"name"})
    assert seen["/api/v1/me/engagement-settings"] == ({"show_liked_posts"},
                                                      {"show_liked_posts"})
    assert seen["/api/v1/me"] == (set(), set())


def test_interests_put_documents_its_required_field(token: str) -> None:
    response = call("PUT", "/api/v1/me/interests", token=token, data=json.dumps({}),
                    content_type="application/json")
    assert response.status_code == 400
    assert set(_json(response)["error"]["fields"]) == {"interests"}
    body = _raw()["paths"]["/api/v1/me/interests"]["put"]["requestBody"]["content"]
    assert _resolve(body["application/json"]["schema"])["required"] == ["interests"]
    _conforms("PUT", "/api/v1/me/interests", response)


def test_sign_up_with_a_non_string_date_of_birth_is_a_400() -> None:
    """Found by the schemathesis run: a JSON list as `date_of_birth` was a 500 (Django's
    DateField called .strip() on it)."""
    response = call("POST", "/_allauth/app/v1/auth/signup", content_type="application/json",
                    data=json.dumps({"email": "n@example.com", "username": "newbie",
                                     "password": "a long passphrase", "date_of_birth": [1]}))
    assert response.status_code == 400
    assert [e["param"] for e in _json(response)["errors"]] == ["date_of_birth"]
    _conforms("POST", "/_allauth/app/v1/auth/signup", response)
