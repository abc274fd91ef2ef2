"""apps.core.hooks.Hook: the one registry behind every upward hook."""

from __future__ import annotations

from collections.abc import Callable

from apps.core.hooks import Hook


def test_hooks_run_in_registration_order_and_register_once():
    hook: Hook[Callable[[], str]] = Hook("test.event")

    def first() -> str:
        return "first"

    def second() -> str:
        return "second"

    assert hook.register(first) is first  # usable as a decorator
    hook.register(second)
    hook.register(first)

    assert [fn() for fn in hook] == ["first", "second"]
    assert len(hook) == 2
    assert first in hook


def test_remove_is_forgiving_and_iteration_is_a_snapshot():
    hook: Hook[Callable[[], None]] = Hook("test.event")
    calls: list[str] = []

    def late() -> None:
        calls.append("late")

    def registers_another() -> None:
        calls.append("registers")
        hook.register(late)  # must not run in this same pass

    hook.register(registers_another)
    for fn in hook:
        fn()
    assert calls == ["registers"]

    hook.remove(late)
    hook.remove(late)  # not registered any more: ignored
    assert list(hook) == [registers_another]
