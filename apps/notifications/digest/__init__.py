"""E-mail digests: a daily or weekly summary of a person's unread notifications at their
local morning, once per period (`DigestRun`), with unsubscribe links that work without
signing in (signed tokens) and RFC 8058 one-click List-Unsubscribe headers."""
