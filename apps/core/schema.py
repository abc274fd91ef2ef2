"""OpenAPI post-processing: the app authentication flow (allauth headless) becomes part of
our one schema, so a mobile developer reads sign-up, verification, log-in and session
tokens next to the endpoints that need them."""

from __future__ import annotations

import re
from typing import Any

AUTH_PREFIX = "Auth"


def _rewrite_refs(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/components/"):
                section, _, name = value.removeprefix("#/components/").partition("/")
                out[key] = f"#/components/{section}/{AUTH_PREFIX}{name}"
            else:
                out[key] = _rewrite_refs(value)
        return out
    if isinstance(node, list):
        return [_rewrite_refs(item) for item in node]
    return node


def _any_of(node: Any) -> Any:
    """allauth's `oneOf`s are not exclusive (e.g. a reauthentication answer is also a valid
    authentication answer), so a strict validator refuses what allauth sends: `anyOf`."""
    if isinstance(node, dict):
        return {("anyOf" if key == "oneOf" and "discriminator" not in node else key):
                _any_of(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_any_of(item) for item in node]
    return node


def only_public_api(endpoints: list[tuple[str, str, str, Any]]) -> list[tuple[str, str, str, Any]]:
    """The schema documents the client API only, not Wagtail's internal admin API."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


HTTP_METHODS = ("get", "put", "post", "patch", "delete")
ERROR_REF = "#/components/schemas/Error"
COMMON_ERRORS = {
    400: "Invalid input: a query parameter or the body is not what this operation takes.",
    413: "The body is larger than this operation accepts.",
    415: "The body's Content-Type is not one this operation takes.",
}


def _error(description: str, ref: str = ERROR_REF) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": ref}}}}


_BLANK = {"type": "string", "maxLength": 0}


def _blank_any_of(node: Any) -> None:
    """drf-spectacular writes an optional-blank regex field as `oneOf: [pattern, ""]`; when
    the pattern itself admits "" (e.g. an optional language tag), "" matches both and a
    `oneOf` refuses it. `anyOf` says what the field takes."""
    if isinstance(node, dict):
        if _BLANK in node.get("oneOf", []):
            node["anyOf"] = node.pop("oneOf")
        for value in node.values():
            _blank_any_of(value)
    elif isinstance(node, list):
        for item in node:
            _blank_any_of(item)


def document_common_errors(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Answers every operation of ours can give, whatever its view declares: an invalid
    query parameter (a cursor, a page size) is a 400; a body is refused with a 400 when
    invalid, a 413 when too large and a 415 when of a type no parser takes. All in the
    error shape, so the schema lists them rather than each view repeating them."""
    for path, item in result.get("paths", {}).items():
        if not path.startswith("/api/v1/"):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            codes: list[int] = []
            if any(p.get("in") == "query" for p in operation.get("parameters", [])):
                codes.append(400)
            if "requestBody" in operation:
                codes += [400, 413, 415]
            for code in codes:
                responses.setdefault(str(code), _error(COMMON_ERRORS[code]))
    _blank_any_of(result.get("components", {}))
    return result


def _operation_id(method: str, path: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", path.lower().replace("/_allauth/", "")).strip("_")
    return f"auth_{slug}_{method}"


def add_headless_auth_paths(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    from allauth.headless.spec.internal.schema import get_schema

    auth = _any_of(_rewrite_refs(get_schema()))
    for path, item in auth.get("paths", {}).items():
        if "/app/" not in path and "{client}" not in path:
            continue  # the browser client's cookie flow is for our own web pages
        # Only the app client is documented (the browser client is our own web pages, with
        # cookies and CSRF), so `{client}` is fixed to `app` rather than left a parameter.
        path = path.replace("{client}", "app")
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            operation["parameters"] = [
                parameter for parameter in operation.get("parameters", [])
                if parameter.get("$ref") != f"#/components/parameters/{AUTH_PREFIX}Client"
            ]
            if not operation["parameters"]:
                del operation["parameters"]
            operation.setdefault("operationId", _operation_id(method, path))
            if "tags" in operation:
                operation["tags"] = [f"auth: {tag}" for tag in operation["tags"]]
        result["paths"][path] = item
    components = result.setdefault("components", {})
    for section, entries in auth.get("components", {}).items():
        target = components.setdefault(section, {})
        for name, value in entries.items():
            target[f"{AUTH_PREFIX}{name}"] = value
    components.get("parameters", {}).pop(f"{AUTH_PREFIX}Client", None)
    _complete_headless_schema(result)
    return result


def _response(name: str) -> str:
    return f"#/components/responses/{AUTH_PREFIX}{name}"


def _complete_headless_schema(result: dict[str, Any]) -> None:
    """What allauth's own specification leaves out, as its code answers today: every flow
    id it can list (e.g. `password_reset_by_code`, listed with `is_pending: false` when no
    reset is under way), `meta.is_authenticated: null` when there is no user at all, the
    400 in allauth's error shape that any operation taking a body gives, and the 401/410
    of operations that take a session token."""
    from allauth.headless.constants import Flow

    schemas = result["components"]["schemas"]
    flow = schemas.get(f"{AUTH_PREFIX}Flow")
    if flow:
        flow["properties"]["id"]["enum"] = sorted(f.value for f in Flow)
        flow["properties"]["is_pending"] = {"type": "boolean"}
    for part in schemas.get(f"{AUTH_PREFIX}AuthenticationMeta", {}).get("allOf", []):
        authenticated = part.get("properties", {}).get("is_authenticated")
        if authenticated:
            authenticated["nullable"] = True
    for path, item in result["paths"].items():
        if not path.startswith("/_allauth/"):
            continue
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            responses = operation["responses"]
            if "requestBody" in operation:
                responses.setdefault("400", _error(
                    "An input error occurred.",
                    ref=f"#/components/schemas/{AUTH_PREFIX}ErrorResponse"))
            if any(p.get("$ref") == f"#/components/parameters/{AUTH_PREFIX}SessionToken"
                   for p in operation.get("parameters", [])):
                # Whatever takes a session token answers a stale one with 410, no session
                # (or one too old for this operation) with 401.
                responses.setdefault("410", {"$ref": _response("SessionGone")})
                if responses.get("401", {}).get("$ref") in (
                    None, _response("ReauthenticationRequired")
                ):
                    responses["401"] = {"$ref": _response("AuthenticationOrReauthentication")}
