"""Moderation's audit rows join the one audit trail: `moderation.AuditEvent` becomes a child
of `core.AuditEvent` (multi-table inheritance). The existing rows are copied into the
parent table with the same ids (app `moderation`), and the table keeps only what is
moderation's own (case, enforcement action, policy) under the parent's id. Done in place
(not a new model) so the content type and the permissions groups hold keep working."""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
INSERT INTO core_auditevent (id, actor_id, app, verb, target_type, target_id, target_repr,
                             reason, data, ip, created_at)
    SELECT id, actor_id, 'moderation', verb, target_type, target_id, '', reason, data, NULL,
           created_at
    FROM moderation_auditevent;
SET CONSTRAINTS ALL IMMEDIATE;  -- check the copied rows now: ALTER TABLE refuses pending checks
DROP INDEX moderation_audit_target;
ALTER TABLE moderation_auditevent
    DROP COLUMN actor_id, DROP COLUMN verb, DROP COLUMN target_type, DROP COLUMN target_id,
    DROP COLUMN reason, DROP COLUMN data, DROP COLUMN created_at;
ALTER TABLE moderation_auditevent ALTER COLUMN id DROP DEFAULT;
ALTER TABLE moderation_auditevent RENAME COLUMN id TO auditevent_ptr_id;
ALTER TABLE moderation_auditevent ADD CONSTRAINT moderation_auditevent_ptr_fk
    FOREIGN KEY (auditevent_ptr_id) REFERENCES core_auditevent (id)
    DEFERRABLE INITIALLY DEFERRED;
"""

BACKWARD = """
ALTER TABLE moderation_auditevent DROP CONSTRAINT moderation_auditevent_ptr_fk;
ALTER TABLE moderation_auditevent RENAME COLUMN auditevent_ptr_id TO id;
ALTER TABLE moderation_auditevent ALTER COLUMN id SET DEFAULT swipeme_next_id();
ALTER TABLE moderation_auditevent
    ADD COLUMN actor_id bigint NULL REFERENCES accounts_user (id) DEFERRABLE INITIALLY DEFERRED,
    ADD COLUMN verb varchar(32) NOT NULL DEFAULT '',
    ADD COLUMN target_type varchar(8) NOT NULL DEFAULT '',
    ADD COLUMN target_id bigint NULL,
    ADD COLUMN reason varchar(1000) NOT NULL DEFAULT '',
    ADD COLUMN data jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN created_at timestamp with time zone NOT NULL DEFAULT now();
UPDATE moderation_auditevent m
    SET actor_id = c.actor_id, verb = left(c.verb, 32), target_type = left(c.target_type, 8),
        target_id = c.target_id, reason = c.reason, data = c.data, created_at = c.created_at
    FROM core_auditevent c WHERE c.id = m.id;
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE moderation_auditevent
    ALTER COLUMN verb DROP DEFAULT, ALTER COLUMN target_type DROP DEFAULT,
    ALTER COLUMN reason DROP DEFAULT, ALTER COLUMN data DROP DEFAULT,
    ALTER COLUMN created_at DROP DEFAULT;
CREATE INDEX moderation_auditevent_actor_id_idx ON moderation_auditevent (actor_id);
CREATE INDEX moderation_audit_target ON moderation_auditevent (target_type, target_id);
DELETE FROM core_auditevent WHERE app = 'moderation';
"""


class Migration(migrations.Migration):

    dependencies = [
        ("core", "0002_audit_event"),
        ("moderation", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.DeleteModel(name="AuditEvent"),
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        ("auditevent_ptr", models.OneToOneField(
                            auto_created=True, on_delete=django.db.models.deletion.CASCADE,
                            parent_link=True, primary_key=True, serialize=False,
                            to="core.auditevent")),
                        ("policy", models.CharField(blank=True, max_length=32)),
                        ("case", models.ForeignKey(
                            blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                            related_name="audit", to="moderation.case")),
                        ("action", models.ForeignKey(
                            blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                            related_name="audit", to="moderation.enforcementaction")),
                    ],
                    bases=("core.auditevent",),
                ),
            ],
        ),
    ]
