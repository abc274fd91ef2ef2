"""`manage.py events_status`: the event log at a glance (length, consumer groups, pending
entries and who holds them), for operators."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.events.log import RedisStreamEventLog


class Command(BaseCommand):
    help = "Show the event stream's length and its consumer groups' pending entries."

    def handle(self, *args: Any, **options: Any) -> None:
        log = RedisStreamEventLog()
        client = log.client
        self.stdout.write(f"stream {log.stream}: {log.length()} entries "
                          f"(cap ~{log.maxlen})")
        if not client.exists(log.stream):
            return
        info: Any = client.xinfo_stream(log.stream)
        first, last = info.get("first-entry"), info.get("last-entry")
        self.stdout.write(f"  first {first[0] if first else '-'}  last "
                          f"{last[0] if last else '-'}")
        groups: Any = client.xinfo_groups(log.stream)
        for group in groups:
            self.stdout.write(f"group {group['name']}: pending {group['pending']}, last "
                              f"delivered {group['last-delivered-id']}, "
                              f"{group['consumers']} consumer(s)")
            consumers: Any = client.xinfo_consumers(log.stream, group["name"])
            for consumer in consumers:
                self.stdout.write(f"  {consumer['name']}: pending {consumer['pending']}, "
                                  f"idle {consumer['idle']} ms")
