"""Hash lists: importing known-bad hashes (and re-scanning after)."""

from __future__ import annotations

import re

from django.db import transaction

from apps.core.audit import Actor, record_audit
from apps.core.ids import allocate_ids
from apps.moderation.detection import pdq
from apps.moderation.detection.models import HashEntry, HashList
from apps.moderation.detection.services.rescans import rescan_schedule
from apps.moderation.policies import Policy


def hash_list_import(*, name: str, policy: str, rows: list[tuple[str, str]],
                     max_distance: int | None = None, actor: Actor = None,
                     reason: str = "") -> tuple[HashList, int, list[str]]:
    """Add (hex PDQ, note) rows to a list (created if new). Returns the list, how many rows
    were new, and the errors of rejected lines. Schedules a re-scan when anything changed.
    Recorded in the audit trail (`actor` None: `manage.py moderation_import_hashes`)."""
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,64}", name):
        raise ValueError("a list name is 1-64 letters, digits, hyphens and underscores")
    if policy not in Policy.values:
        raise ValueError(f"unknown policy {policy!r}; one of {', '.join(Policy.values)}")
    errors: list[str] = []
    entries: dict[str, str] = {}
    for number, (value, note) in enumerate(rows, start=1):
        try:
            entries.setdefault(pdq.parse_hex(value).hex(), note[:200])
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
    with transaction.atomic():
        hash_list, created = HashList.objects.get_or_create(
            name=name, defaults={"policy": policy,
                                 **({"max_distance": max_distance} if max_distance else {})})
        if not created and (hash_list.policy != policy
                            or (max_distance and hash_list.max_distance != max_distance)):
            hash_list.policy = policy
            hash_list.max_distance = max_distance or hash_list.max_distance
            hash_list.save(update_fields=["policy", "max_distance", "updated_at"])
        before = HashEntry.objects.filter(hash_list=hash_list).count()
        ids = allocate_ids(len(entries))
        HashEntry.objects.bulk_create(
            [HashEntry(id=i, hash_list=hash_list, pdq=h, note=n)
             for i, (h, n) in zip(ids, entries.items(), strict=True)],
            ignore_conflicts=True, batch_size=2000)
        added = HashEntry.objects.filter(hash_list=hash_list).count() - before
        if added or created:
            rescan_schedule(reason=f"hash list {name}: {added} new")
        record_audit(actor=actor, action="moderation_detection.hash_list_import",
                     target=hash_list, reason=reason, added=added, rejected=len(errors),
                     created=created, policy=hash_list.policy,
                     max_distance=hash_list.max_distance)
    return hash_list, added, errors
