"""Hook registrations of the messaging app (called once from `MessagingConfig.ready`)."""

from __future__ import annotations


def connect() -> None:
    """Register messaging's functions in lower apps' hook registries."""
