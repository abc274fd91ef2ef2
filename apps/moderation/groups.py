"""Moderator groups and what each may do: which queues it works, whether it may suspend or
ban, who sees the dashboard. `manage.py moderation_setup_groups` (idempotent) creates them;
staff then put people in groups in the Django admin."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from apps.core.audit import record_audit

# Model permissions the admin needs to list cases and read the records.
_READ = ["moderation.view_case", "moderation.view_report", "moderation.view_enforcementaction",
         "moderation.view_strike", "moderation.view_appeal", "moderation.view_auditevent",
         "moderation.view_notice", "moderation.view_standing"]

GROUPS: dict[str, list[str]] = {
    "Moderators": [*_READ, "moderation.work_queue_general", "moderation.work_queue_live"],
    "Minor safety specialists": [*_READ, "moderation.work_queue_general",
                                 "moderation.work_queue_live",
                                 "moderation.work_queue_minor_safety",
                                 "moderation.enforce_suspend"],
    "Copyright agents": [*_READ, "moderation.work_queue_copyright"],
    "Appeals reviewers": [*_READ, "moderation.work_queue_appeals"],
    "Senior moderators": [*_READ, "moderation.work_queue_general",
                          "moderation.work_queue_minor_safety",
                          "moderation.work_queue_copyright", "moderation.work_queue_appeals",
                          "moderation.work_queue_senior", "moderation.work_queue_live",
                          "moderation.enforce_suspend",
                          "moderation.enforce_ban", "moderation.view_dashboard",
                          "moderation.view_bansignal"],
}


def setup_groups() -> dict[str, int]:
    """Create or update each group to exactly its permissions. Returns permission counts."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; make sure they exist now.
    create_permissions(apps.get_app_config("moderation"), verbosity=0)
    counts: dict[str, int] = {}
    with transaction.atomic():
        for name, perms in GROUPS.items():
            group, _ = Group.objects.get_or_create(name=name)
            rows: dict[str, Permission] = {}
            for perm in perms:
                app_label, codename = perm.split(".")
                rows[perm] = Permission.objects.get(content_type__app_label=app_label,
                                                    codename=codename)
            before = set(group.permissions.values_list("pk", flat=True))
            group.permissions.set(rows.values())
            if before != {row.pk for row in rows.values()}:  # staff permissions changed
                record_audit(actor=None, action="moderation.group_permissions_set",
                             target=group, reason="manage.py moderation_setup_groups",
                             permissions=sorted(rows),
                             added=sorted(p for p, row in rows.items() if row.pk not in before))
            counts[name] = len(rows)
    return counts
