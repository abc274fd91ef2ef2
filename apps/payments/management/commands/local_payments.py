"""Staff and test tool for the local test provider: refund a payment, open or close a
dispute on it, or deliver its pending webhooks now. Each writes an audit row (actor:
automation, reason required); the outcome arrives by webhook as from a real provider.

    manage.py local_payments refund <payment id> [--amount CENTS] --reason "..."
    manage.py local_payments dispute <payment id> --reason "..."
    manage.py local_payments close-dispute <payment id> --won|--lost --reason "..."
    manage.py local_payments deliver          (send undelivered events now)
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.core.audit import record_audit
from apps.core.errors import ApplicationError
from apps.payments.models import Payment
from apps.payments.providers.local import deliver
from apps.payments.services import payments


class Command(BaseCommand):
    help = "Refund, dispute or deliver events on the local test payment provider."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["refund", "dispute", "close-dispute", "deliver"])
        parser.add_argument("payment_id", nargs="?", type=int)
        parser.add_argument("--amount", type=int, help="cents (refund; default: the rest)")
        parser.add_argument("--reason", default="")
        outcome = parser.add_mutually_exclusive_group()
        outcome.add_argument("--won", action="store_true")
        outcome.add_argument("--lost", action="store_true")

    def handle(self, *args: Any, action: str, payment_id: int | None, amount: int | None,
               reason: str, won: bool, lost: bool, **options: Any) -> None:
        if action == "deliver":
            self.stdout.write(f"Delivered {deliver()} event(s).")
            return
        payment = Payment.objects.filter(pk=payment_id).first() if payment_id else None
        if payment is None:
            raise CommandError("Name a payment id that exists.")
        if not reason.strip():
            raise CommandError("Say why (--reason): it goes to the audit trail.")
        if action == "close-dispute" and not (won or lost):
            raise CommandError("Say how the dispute ended: --won or --lost.")
        try:
            with transaction.atomic():
                if action == "refund":
                    rest = payment.amount_minor - payment.amount_refunded_minor
                    payments.refund_payment(
                        payment=payment, amount_minor=amount if amount is not None else rest,
                        key=f"cli-refund:{payment.pk}:{payment.refunds.count()}",
                        reason=reason)
                elif action == "dispute":
                    payments.local_open_dispute(payment=payment)
                else:
                    payments.local_close_dispute(payment=payment, won=won)
                verb = action.replace("-", "_")
                record_audit(actor=None, action=f"payments.payment_{verb}", target=payment,
                             reason=reason, amount=amount, won=won if lost or won else None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Asked the local provider: {action} on payment {payment.pk}; its webhook "
            "follows."))
