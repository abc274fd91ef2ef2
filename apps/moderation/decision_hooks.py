"""Hooks that learn from moderators' decisions (registered by `moderation.detection` in its
`ready`): moderation never imports detection, so an automated flag's outcome reaches the
detector's training data only through this.

- `register_case_decided_hook`: a moderator decided a case (or an appeal), inside the
  decision's transaction: `upheld` is True when a violation was confirmed (an action taken,
  an appeal refused), False when none was found (no violation, an appeal granted)."""

from __future__ import annotations

from typing import Any, Protocol

from apps.core.hooks import Hook


class CaseDecidedHook(Protocol):
    def __call__(self, *, case_id: int, evidence: list[Any], upheld: bool) -> object: ...


_decided_hooks: Hook[CaseDecidedHook] = Hook("moderation.case_decided")
register_case_decided_hook = _decided_hooks.register


def run_case_decided_hooks(*, case_id: int, evidence: list[Any], upheld: bool) -> None:
    for hook in _decided_hooks:
        hook(case_id=case_id, evidence=evidence, upheld=upheld)
