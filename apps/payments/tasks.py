"""Celery tasks of the ledger (the `default` queue; beat schedule in settings): thin, and
safe to run twice."""

from __future__ import annotations

from celery import shared_task

from apps.payments.services import ledger, reconcile


@shared_task(name="apps.payments.void_expired_holds")
def void_expired_holds() -> int:
    """Void the holds past their timeout (their amounts return to the accounts held)."""
    return ledger.void_expired_holds()


@shared_task(name="apps.payments.reconcile_ledger")
def reconcile_ledger() -> int:
    """Nightly: maintained balances against the transfers; alerts on any difference."""
    return reconcile.reconcile_ledger().differences
