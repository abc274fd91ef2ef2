"""An account opens empty: an INSERT with a non-zero balance would be money made out of
nothing (the balances move only with transfers, migration 0003). Refused like an UPDATE."""

from django.db import migrations

SQL = r"""
CREATE FUNCTION payments_ledger_account_opens_empty() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.debits_posted <> 0 OR NEW.credits_posted <> 0 OR NEW.debits_pending <> 0
       OR NEW.credits_pending <> 0 THEN
        RAISE EXCEPTION 'ledger accounts open empty: balances move only with transfers'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payments_ledgeraccount_opens_empty BEFORE INSERT ON payments_ledgeraccount
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_account_opens_empty();
"""

REVERSE_SQL = r"""
DROP TRIGGER IF EXISTS payments_ledgeraccount_opens_empty ON payments_ledgeraccount;
DROP FUNCTION IF EXISTS payments_ledger_account_opens_empty();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0004_ledger_check_once_per_set"),
    ]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
