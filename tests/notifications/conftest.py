"""Fixtures of tests/notifications: the local push services (push_servers.py)."""

from tests.notifications.push_servers import (  # noqa: F401
    apns_service,
    fcm_service,
    vapid_key,
    webpush_service,
)
