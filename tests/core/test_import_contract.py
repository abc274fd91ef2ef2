"""The layers contract in pyproject.toml names every app as a required layer.

import-linter skips an optional layer (a name in parentheses) that does not exist, so an
existing app listed in parentheses stops being checked the day it is renamed, and an app
missing from the list is never checked at all."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _layer_names() -> tuple[set[str], set[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"]
                    if c["type"] == "layers")
    required: set[str] = set()
    optional: set[str] = set()
    for layer in contract["layers"]:
        for name in (part.strip() for part in layer.split("|")):
            if name.startswith("(") and name.endswith(")"):
                optional.add(name[1:-1])
            else:
                required.add(name)
    return required, optional


def _apps() -> set[str]:
    return {f"apps.{path.parent.name}" for path in (ROOT / "apps").glob("*/__init__.py")}


def test_every_app_is_a_required_layer() -> None:
    required, _ = _layer_names()
    assert _apps() - required == set()


def test_optional_layers_are_only_apps_not_built_yet() -> None:
    _, optional = _layer_names()
    assert optional & _apps() == set()


def test_every_required_layer_exists() -> None:
    required, _ = _layer_names()
    assert required - _apps() == set()
