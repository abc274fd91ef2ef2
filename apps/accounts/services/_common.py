"""Helpers the accounts service modules share."""

from __future__ import annotations

from typing import Any


def _delete_files(files: list[tuple[Any, str]]) -> None:
    for storage, name in files:
        storage.delete(name)
