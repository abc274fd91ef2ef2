"""Registrations on lower apps' hooks (payments' payment events, content's visibility
questions), made once from `MonetizationConfig.ready()`. Each owner of a module under
apps/monetization adds its own registration here."""

from __future__ import annotations


def connect() -> None:
    pass
