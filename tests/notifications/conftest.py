"""Fixtures of tests/notifications: the local push services (push_servers.py) and the
local SMTP server (smtp_server.py)."""

from tests.notifications.push_servers import (  # noqa: F401
    apns_service,
    fcm_service,
    vapid_key,
    webpush_service,
)
from tests.notifications.smtp_server import smtp_server  # noqa: F401
