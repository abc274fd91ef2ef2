"""The ledger's invariants, enforced by PostgreSQL whatever the Python says.

- Transfers and transfer sets are immutable: UPDATE and DELETE are refused (a correction is
  a new set: a reversal, never an edit), and a transfer joins only a set made in the same
  transaction (`created_txid`, a column of the database's own), never a committed one.
- Balances move only with transfers: a statement-level trigger on INSERT into transfers
  applies every new transfer to its two accounts (posted or pending columns, by the set's
  phase), locking the accounts in id order; an UPDATE of an account made by anything else
  is refused, so the maintained balances cannot drift from the transfers. The existing
  CHECK `ledger_account_no_negative` refuses a wallet or earnings below zero.
- A deferred constraint trigger checks each set at commit: it has transfers; every
  transfer's asset is both its accounts' asset; per asset, what the set debits equals what
  it credits; a post or void of a pending set repeats the pending set's legs exactly and
  names a pending set; a reversal repeats its original's legs the other way round, names a
  posted set that is no reversal itself, and is posted (`ledger_set_reversed_once`, a
  unique index, keeps it to one reversal per set).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

SQL = r"""
CREATE FUNCTION payments_ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger % rows are immutable: % refused (post a reversal instead)',
        TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END $$;

CREATE TRIGGER payments_transfer_immutable BEFORE UPDATE OR DELETE ON payments_transfer
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_immutable();
CREATE TRIGGER payments_transferset_immutable BEFORE UPDATE OR DELETE ON payments_transferset
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_immutable();

-- Balances follow transfers: per INSERT statement (a linked set is one bulk INSERT), one
-- UPDATE per account, in id order, so two sets never deadlock on their row locks.
-- The transaction that made a set (the top-level one, savepoints included): transfers are
-- added to a set only by the transaction that made it, never to a committed set later.
-- A column of the database's own, unknown to the model (inserts leave it to its default).
ALTER TABLE payments_transferset ADD COLUMN created_txid bigint NOT NULL
    DEFAULT txid_current();

CREATE FUNCTION payments_ledger_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    m record;
BEGIN
    IF EXISTS (SELECT 1 FROM new_transfers t JOIN payments_transferset s ON s.id = t.set_id
                WHERE s.created_txid <> txid_current()) THEN
        RAISE EXCEPTION 'ledger transfers join only a set made in the same transaction'
            USING ERRCODE = 'restrict_violation';
    END IF;
    FOR m IN
        WITH legs AS (
            SELECT t.debit_account_id AS account, s.phase, t.amount AS debit,
                   0::bigint AS credit
              FROM new_transfers t JOIN payments_transferset s ON s.id = t.set_id
            UNION ALL
            SELECT t.credit_account_id, s.phase, 0::bigint, t.amount
              FROM new_transfers t JOIN payments_transferset s ON s.id = t.set_id
        )
        SELECT account,
               sum(CASE WHEN phase IN ('posted', 'post_pending') THEN debit ELSE 0 END) AS dp,
               sum(CASE WHEN phase IN ('posted', 'post_pending') THEN credit ELSE 0 END) AS cp,
               sum(CASE phase WHEN 'pending' THEN debit WHEN 'posted' THEN 0
                              ELSE -debit END) AS dpe,
               sum(CASE phase WHEN 'pending' THEN credit WHEN 'posted' THEN 0
                              ELSE -credit END) AS cpe
          FROM legs GROUP BY account ORDER BY account
    LOOP
        UPDATE payments_ledgeraccount
           SET debits_posted = debits_posted + m.dp, credits_posted = credits_posted + m.cp,
               debits_pending = debits_pending + m.dpe,
               credits_pending = credits_pending + m.cpe
         WHERE id = m.account;
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER payments_transfer_apply AFTER INSERT ON payments_transfer
    REFERENCING NEW TABLE AS new_transfers
    FOR EACH STATEMENT EXECUTE FUNCTION payments_ledger_apply();

-- An account's identity never changes and its balances move only through the trigger
-- above (nested: pg_trigger_depth() > 1). A DELETE of an account with money is refused.
CREATE FUNCTION payments_ledger_account_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.debits_posted <> 0 OR OLD.credits_posted <> 0 OR OLD.debits_pending <> 0
           OR OLD.credits_pending <> 0 THEN
            RAISE EXCEPTION 'ledger account % has transfers: DELETE refused', OLD.id
                USING ERRCODE = 'restrict_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF pg_trigger_depth() < 2 AND ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
        RAISE EXCEPTION 'ledger account % changes only through transfers: UPDATE refused',
            OLD.id USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.kind <> OLD.kind OR NEW.asset <> OLD.asset OR NEW.shard <> OLD.shard
       OR NEW.owner_id IS DISTINCT FROM OLD.owner_id OR NEW.no_negative <> OLD.no_negative THEN
        RAISE EXCEPTION 'ledger account % identity is immutable', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER payments_ledgeraccount_guard BEFORE UPDATE OR DELETE ON payments_ledgeraccount
    FOR EACH ROW EXECUTE FUNCTION payments_ledger_account_guard();

-- The set's checks, at commit.
CREATE FUNCTION payments_ledger_check_set(p_set bigint) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s payments_transferset%ROWTYPE;
    other payments_transferset%ROWTYPE;
    bad text;
BEGIN
    SELECT * INTO s FROM payments_transferset WHERE id = p_set;
    IF NOT FOUND THEN
        RETURN;  -- the set's own FK refuses an orphan transfer
    END IF;
    IF NOT EXISTS (SELECT 1 FROM payments_transfer t WHERE t.set_id = s.id) THEN
        RAISE EXCEPTION 'ledger set % has no transfers', s.id USING ERRCODE = 'check_violation';
    END IF;
    SELECT string_agg(t.id::text, ', ') INTO bad
      FROM payments_transfer t
      JOIN payments_ledgeraccount d ON d.id = t.debit_account_id
      JOIN payments_ledgeraccount c ON c.id = t.credit_account_id
     WHERE t.set_id = s.id AND (t.asset <> d.asset OR t.asset <> c.asset);
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'ledger set %: transfer(s) % move an asset their accounts do not hold',
            s.id, bad USING ERRCODE = 'check_violation';
    END IF;
    SELECT string_agg(x.asset, ', ') INTO bad FROM (
        SELECT a.asset, sum(CASE WHEN a.id = t.credit_account_id THEN t.amount
                                 ELSE -t.amount END) AS net
          FROM payments_transfer t
          JOIN payments_ledgeraccount a ON a.id IN (t.debit_account_id, t.credit_account_id)
         WHERE t.set_id = s.id
         GROUP BY a.asset) x
     WHERE x.net <> 0;
    IF bad IS NOT NULL THEN
        RAISE EXCEPTION 'ledger set %: debits and credits differ in %', s.id, bad
            USING ERRCODE = 'check_violation';
    END IF;
    IF s.pending_of_id IS NOT NULL THEN
        SELECT * INTO other FROM payments_transferset WHERE id = s.pending_of_id;
        IF other.phase <> 'pending' THEN
            RAISE EXCEPTION 'ledger set % resolves set %, which is not pending', s.id, other.id
                USING ERRCODE = 'check_violation';
        END IF;
        IF EXISTS (
            (SELECT debit_account_id, credit_account_id, asset, amount FROM payments_transfer
              WHERE set_id = s.id
             EXCEPT ALL
             SELECT debit_account_id, credit_account_id, asset, amount FROM payments_transfer
              WHERE set_id = other.id)
            UNION ALL
            (SELECT debit_account_id, credit_account_id, asset, amount FROM payments_transfer
              WHERE set_id = other.id
             EXCEPT ALL
             SELECT debit_account_id, credit_account_id, asset, amount FROM payments_transfer
              WHERE set_id = s.id)) THEN
            RAISE EXCEPTION 'ledger set %: a post or void repeats its pending set''s legs',
                s.id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    IF s.reversal_of_id IS NOT NULL THEN
        SELECT * INTO other FROM payments_transferset WHERE id = s.reversal_of_id;
        IF s.phase <> 'posted' OR other.phase NOT IN ('posted', 'post_pending')
           OR other.reversal_of_id IS NOT NULL THEN
            RAISE EXCEPTION 'ledger set % may not reverse set %', s.id, other.id
                USING ERRCODE = 'check_violation';
        END IF;
        IF EXISTS (
            (SELECT debit_account_id, credit_account_id, asset, amount FROM payments_transfer
              WHERE set_id = s.id
             EXCEPT ALL
             SELECT credit_account_id, debit_account_id, asset, amount FROM payments_transfer
              WHERE set_id = other.id)
            UNION ALL
            (SELECT credit_account_id, debit_account_id, asset, amount FROM payments_transfer
              WHERE set_id = other.id
             EXCEPT ALL
             SELECT debit_account_id, credit_account_id, asset, amount FROM payments_transfer
              WHERE set_id = s.id)) THEN
            RAISE EXCEPTION 'ledger set %: a reversal repeats its original''s legs reversed',
                s.id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
END $$;

CREATE FUNCTION payments_ledger_check_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'payments_transfer' THEN
        PERFORM payments_ledger_check_set(NEW.set_id);
    ELSE
        PERFORM payments_ledger_check_set(NEW.id);
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER payments_transfer_set_balanced AFTER INSERT ON payments_transfer
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION payments_ledger_check_trigger();
CREATE CONSTRAINT TRIGGER payments_transferset_balanced AFTER INSERT ON payments_transferset
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    EXECUTE FUNCTION payments_ledger_check_trigger();
"""

REVERSE_SQL = r"""
DROP TRIGGER IF EXISTS payments_transferset_balanced ON payments_transferset;
DROP TRIGGER IF EXISTS payments_transfer_set_balanced ON payments_transfer;
DROP FUNCTION IF EXISTS payments_ledger_check_trigger();
DROP FUNCTION IF EXISTS payments_ledger_check_set(bigint);
DROP TRIGGER IF EXISTS payments_ledgeraccount_guard ON payments_ledgeraccount;
DROP FUNCTION IF EXISTS payments_ledger_account_guard();
DROP TRIGGER IF EXISTS payments_transfer_apply ON payments_transfer;
DROP FUNCTION IF EXISTS payments_ledger_apply();
ALTER TABLE payments_transferset DROP COLUMN IF EXISTS created_txid;
DROP TRIGGER IF EXISTS payments_transferset_immutable ON payments_transferset;
DROP TRIGGER IF EXISTS payments_transfer_immutable ON payments_transfer;
DROP FUNCTION IF EXISTS payments_ledger_immutable();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0002_providers"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Books outlive the people in them: no FK constraint to users (a PROTECT would block
        # an account's purge), the ids stay.
        migrations.AlterField(
            model_name="ledgeraccount",
            name="owner",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=django.db.models.deletion.DO_NOTHING,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AlterField(
            model_name="transferset",
            name="created_by",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True,
                                    on_delete=django.db.models.deletion.DO_NOTHING,
                                    related_name="+", to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name="transferset",
            constraint=models.UniqueConstraint(condition=models.Q(("reversal_of__isnull", False)),
                                               fields=("reversal_of",),
                                               name="ledger_set_reversed_once"),
        ),
        migrations.RunSQL(SQL, REVERSE_SQL),
    ]
