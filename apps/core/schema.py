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


def only_public_api(endpoints: list[tuple[str, str, str, Any]]) -> list[tuple[str, str, str, Any]]:
    """The schema documents the client API only, not Wagtail's internal admin API."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith("/api/v1/")]


def _operation_id(method: str, path: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", path.lower().replace("/_allauth/", "")).strip("_")
    return f"auth_{slug}_{method}"


def add_headless_auth_paths(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    from allauth.headless.spec.internal.schema import get_schema

    auth = _rewrite_refs(get_schema())
    for path, item in auth.get("paths", {}).items():
        if "/app/" not in path and "{client}" not in path:
            continue  # the browser client's cookie flow is for our own web pages
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            operation.setdefault("operationId", _operation_id(method, path))
            if "tags" in operation:
                operation["tags"] = [f"auth: {tag}" for tag in operation["tags"]]
        result["paths"][path] = item
    components = result.setdefault("components", {})
    for section, entries in auth.get("components", {}).items():
        target = components.setdefault(section, {})
        for name, value in entries.items():
            target[f"{AUTH_PREFIX}{name}"] = value
    return result
