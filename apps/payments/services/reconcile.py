"""The nightly reconciliation: the maintained balances against the transfers.

Balances are kept on the account rows (read in O(1)) and moved only by the database
trigger on transfers (migration 0003), so they cannot drift unless something got around
it (a disabled trigger, a restored backup, a bug in the trigger). This recomputes every
account's four sums from its transfers and checks the books per asset, in one statement
(one snapshot: no transfer can land between the two sides). Any difference is an alert:
an error log line, the run recorded with its differences (the finance admin shows it, and
`/metrics` exports it), an audit row, and a mail to the site admins.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.mail import mail_admins
from django.db import connection, transaction
from django.utils import timezone

from apps.core.audit import record_audit
from apps.payments.models.ledger import ReconciliationRun

logger = logging.getLogger(__name__)

MAX_DETAILS = 500
COLUMNS = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")

# One snapshot: per account, the maintained sums and the sums from its transfers (by the
# set's phase, exactly as the trigger applies them); then the books per asset from the
# maintained sums (Σ credits = Σ debits, posted and pending).
RECONCILE_SQL = """
WITH legs AS (
    SELECT t.debit_account_id AS account, s.phase, t.amount AS debit, 0::bigint AS credit
      FROM payments_transfer t JOIN payments_transferset s ON s.id = t.set_id
    UNION ALL
    SELECT t.credit_account_id, s.phase, 0::bigint, t.amount
      FROM payments_transfer t JOIN payments_transferset s ON s.id = t.set_id
), sums AS (
    SELECT account,
           sum(CASE WHEN phase IN ('posted', 'post_pending') THEN debit ELSE 0 END) AS dp,
           sum(CASE WHEN phase IN ('posted', 'post_pending') THEN credit ELSE 0 END) AS cp,
           sum(CASE phase WHEN 'pending' THEN debit WHEN 'posted' THEN 0 ELSE -debit END)
               AS dpe,
           sum(CASE phase WHEN 'pending' THEN credit WHEN 'posted' THEN 0 ELSE -credit END)
               AS cpe
      FROM legs GROUP BY account
), acc AS (
    SELECT a.id, a.asset, a.no_negative,
           a.debits_posted AS m_dp, a.credits_posted AS m_cp,
           a.debits_pending AS m_dpe, a.credits_pending AS m_cpe,
           coalesce(s.dp, 0) AS t_dp, coalesce(s.cp, 0) AS t_cp,
           coalesce(s.dpe, 0) AS t_dpe, coalesce(s.cpe, 0) AS t_cpe
      FROM payments_ledgeraccount a LEFT JOIN sums s ON s.account = a.id
)
SELECT 'account', id::text, m_dp, m_cp, m_dpe, m_cpe, t_dp, t_cp, t_dpe, t_cpe
  FROM acc
 WHERE (m_dp, m_cp, m_dpe, m_cpe) IS DISTINCT FROM (t_dp, t_cp, t_dpe, t_cpe)
    OR (no_negative AND t_cp < t_dp + t_dpe)
UNION ALL
SELECT 'asset', asset, sum(m_dp), sum(m_cp), sum(m_dpe), sum(m_cpe), 0, 0, 0, 0
  FROM acc GROUP BY asset
HAVING sum(m_cp) <> sum(m_dp) OR sum(m_cpe) <> sum(m_dpe)
UNION ALL
SELECT 'accounts', count(*)::text, 0, 0, 0, 0, 0, 0, 0, 0 FROM acc
"""


def _differences(rows: list[tuple[Any, ...]]) -> tuple[int, list[dict[str, Any]]]:
    checked = 0
    details: list[dict[str, Any]] = []
    for kind, ref, *sums in rows:
        if kind == "accounts":
            checked = int(ref)
        elif kind == "asset":
            dp, cp, dpe, cpe = (int(v) for v in sums[:4])
            details.append({"asset": ref, "posted_off_by": cp - dp,
                            "pending_off_by": cpe - dpe})
        else:
            maintained, computed = sums[:4], sums[4:]
            for column, m, t in zip(COLUMNS, maintained, computed, strict=True):
                if int(m) != int(t):
                    details.append({"account": ref, "column": column,
                                    "maintained": int(m), "from_transfers": int(t)})
            if maintained == computed:  # both agree, and both are below zero
                details.append({"account": ref, "column": "no_negative",
                                "maintained": int(computed[1]) - int(computed[0])
                                - int(computed[2]), "from_transfers": 0})
    return checked, details


def reconcile_ledger() -> ReconciliationRun:
    """Compare every account with its transfers; record the run; alert on any difference."""
    run = ReconciliationRun.objects.create()
    with connection.cursor() as cursor:
        cursor.execute(RECONCILE_SQL)
        rows = cursor.fetchall()
    checked, details = _differences(rows)
    with transaction.atomic():
        run.finished_at = timezone.now()
        run.accounts_checked = checked
        run.differences = len(details)
        run.details = details[:MAX_DETAILS]
        run.save(update_fields=["finished_at", "accounts_checked", "differences", "details"])
        if details:
            record_audit(actor=None, action="payments.ledger_reconcile_alert", target=run,
                         reason=f"{len(details)} differences between balances and transfers",
                         differences=details[:20])
    if details:
        logger.error("ledger reconciliation: %d differences between the maintained balances "
                     "and the transfers (run %s); first: %s", len(details), run.pk,
                     details[:5], extra={"event": "ledger.reconcile_alert",
                                         "run_id": run.pk, "differences": len(details)})
        mail_admins(f"Ledger reconciliation: {len(details)} differences",
                    f"Run {run.pk} found differences between the ledger's maintained "
                    f"balances and its transfers. First ones:\n{details[:20]}\n"
                    "See Payments > Reconciliation runs in the admin.", fail_silently=True)
    else:
        logger.info("ledger reconciliation: %d accounts, books balance", checked)
    return run

