"""The deferred set check of migration 0003 ran once per transfer row and once for the
set: four full checks for a three-leg gift. It now runs once per set and state: the
trigger remembers, for the rest of the transaction, the set and transfer count it last
checked (`payments.ledger_checked`), and checks again only when either differs (a transfer
added afterwards in the same transaction is checked with its set again). Same rules,
a quarter of the work at commit (bench/ledger.py)."""

from django.db import migrations

SQL = r"""
CREATE OR REPLACE FUNCTION payments_ledger_check_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    sid bigint;
    n bigint;
    mark text;
BEGIN
    IF TG_TABLE_NAME = 'payments_transfer' THEN
        sid := NEW.set_id;
    ELSE
        sid := NEW.id;
    END IF;
    SELECT count(*) INTO n FROM payments_transfer WHERE set_id = sid;
    mark := sid::text || ':' || n::text;
    IF current_setting('payments.ledger_checked', true) IS DISTINCT FROM mark THEN
        PERFORM payments_ledger_check_set(sid);
        PERFORM set_config('payments.ledger_checked', mark, true);
    END IF;
    RETURN NULL;
END $$;
"""

REVERSE_SQL = r"""
CREATE OR REPLACE FUNCTION payments_ledger_check_trigger() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'payments_transfer' THEN
        PERFORM payments_ledger_check_set(NEW.set_id);
    ELSE
        PERFORM payments_ledger_check_set(NEW.id);
    END IF;
    RETURN NULL;
END $$;
"""


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0003_ledger_invariants"),
    ]

    operations = [migrations.RunSQL(SQL, REVERSE_SQL)]
