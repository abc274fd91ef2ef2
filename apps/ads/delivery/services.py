"""Delivery's staff writes: switching the active predictor (audited)."""

from __future__ import annotations

from django.db import transaction

from apps.ads.models import AdPredictor
from apps.core.audit import Actor, record_audit
from apps.core.errors import NotFoundError

from . import predict


def predictor_activate(
    *, version: int, actor: Actor = None, reason: str = "", ip: str | None = None
) -> AdPredictor:
    """Make one trained version the active predictor (web processes pick it up within
    `predict.RELOAD_SECONDS`). One audit row. The partial unique index keeps one active."""
    with transaction.atomic():
        target = AdPredictor.objects.filter(version=version).first()
        if target is None:
            raise NotFoundError("No such predictor version.")
        previous = list(
            AdPredictor.objects.filter(active=True)
            .exclude(pk=target.pk)
            .values_list("version", flat=True)
        )
        AdPredictor.objects.filter(active=True).exclude(pk=target.pk).update(active=False)
        if not target.active:
            AdPredictor.objects.filter(pk=target.pk).update(active=True)
            target.active = True
        record_audit(
            actor=actor,
            action="ads.predictor_activate",
            target=target,
            reason=reason,
            ip=ip,
            version=target.version,
            previous=previous,
        )
    predict.forget()
    return target
