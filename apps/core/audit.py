"""The one audit trail: every staff action (and automation acting for staff) records who did
what, to what and why through `record_audit`, in the same transaction as the change.

    record_audit(actor=request.user, action="feed.ranker_activate", target=ranker,
                 reason="better NDCG", ip=request_ip(request), version=7)

`action` is `<app>.<verb>`. `target` is a model instance (its model name and id), a
`(type, id)` pair, a string ref (`"flag:uploads"`) or None. Extra keywords go to `data`
(JSON). Readable in the admin (`core.AuditEvent`, read-only).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import models
from django.http import HttpRequest

from apps.core.models import AuditEvent

Target = models.Model | tuple[str, int | None] | str | None
# Who acted: a staff user (a request's user), or None for automation and commands.
Actor = AbstractBaseUser | AnonymousUser | None


def _target(target: Target) -> tuple[str, int | None, str]:
    if target is None:
        return "", None, ""
    if isinstance(target, models.Model):
        # A row keyed by a string (a revenue share's source, a search term) has no numeric
        # id: its repr names it.
        pk = target.pk if isinstance(target.pk, int) else None
        return target._meta.model_name or "", pk, str(target)[:200]
    if isinstance(target, tuple):
        kind, pk = target
        return kind, pk, ""
    return "", None, target[:200]


def record_audit(*, actor: Actor, action: str,
                 target: Target = None, reason: str = "", ip: str | None = None,
                 **data: Any) -> AuditEvent:
    """Append one row to the audit trail (call it inside the change's transaction)."""
    app, _, verb = action.partition(".")
    if not app or not verb:
        raise ValueError(f"audit action must be '<app>.<verb>', got {action!r}")
    target_type, target_id, target_repr = _target(target)
    return AuditEvent.objects.create(
        actor_id=actor.pk if actor is not None and actor.is_authenticated else None,
        app=app, verb=verb, target_type=target_type, target_id=target_id,
        target_repr=target_repr, reason=reason.strip()[:1000], ip=ip or None, data=data)


def request_ip(request: HttpRequest) -> str | None:
    """The address a staff request came from (REMOTE_ADDR, the connecting peer)."""
    value = request.META.get("REMOTE_ADDR")
    return str(value) if value else None
