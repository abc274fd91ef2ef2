"""One registry shape for the upward hooks (docs/architecture.md, "Apps and layers").

A lower app keeps a `Hook[F]` for each question or event it exposes; a higher app
registers its function in `AppConfig.ready()`; the lower app calls each registered
function in registration order (how it combines their answers is its own: run them all,
the first answer, any, a sum). `F` is the function's type, usually a `Protocol` with a
keyword-only `__call__`, so registrations are type-checked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, TypeVar

F = TypeVar("F")


class Hook(Generic[F]):
    def __init__(self, name: str) -> None:
        self.name = name  # for reprs and logs: "<app>.<event>"
        self._fns: list[F] = []

    def register(self, fn: F) -> F:
        """Idempotent (registering the same function again is a no-op); usable as a
        decorator."""
        if fn not in self._fns:
            self._fns.append(fn)
        return fn

    def remove(self, fn: F) -> None:
        """Unregister (tests); a function that is not registered is ignored."""
        if fn in self._fns:
            self._fns.remove(fn)

    def __iter__(self) -> Iterator[F]:
        # A copy: a hook that registers or removes hooks does not upset the loop.
        return iter(list(self._fns))

    def __contains__(self, fn: object) -> bool:
        return fn in self._fns

    def __len__(self) -> int:
        return len(self._fns)

    def __repr__(self) -> str:
        return f"Hook({self.name!r}, {len(self._fns)} registered)"
