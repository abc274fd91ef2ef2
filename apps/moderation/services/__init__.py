"""Moderation writes: opening and merging cases, claims, decisions, the one enforcement
service, strikes and standing, notices, appeals. Every write leaves an `AuditEvent`.

`case_open_or_merge` and `enforce` are the contract automated detection
(`apps.moderation.detection`) calls; keep their signatures.

One module per use case (targets, cases, decisions, enforcement, standing, appeals,
notices; shared constants and the audit helper in `_common`); this package re-exports the
names callers use, so `from apps.moderation import services` keeps working.
"""

from apps.moderation.services._common import (
    ACCOUNT_ACTIONS,
    APPEALABLE,
    CONTENT_ACTIONS,
    SOURCES,
    Action,
)
from apps.moderation.services.appeals import appeal_create
from apps.moderation.services.cases import (
    can_work_queue,
    case_claim,
    case_claim_next,
    case_escalate,
    case_open_or_merge,
    case_release,
    cases_assign,
    report_create,
)
from apps.moderation.services.decisions import (
    DECISIONS,
    Decision,
    case_decide,
    cases_close_no_violation,
    decisions_for,
)
from apps.moderation.services.enforcement import _set_post_flag, enforce
from apps.moderation.services.lives import (
    LiveChatCopy,
    LiveCopy,
    live_frame_alert,
    live_report_create,
)
from apps.moderation.services.messages import (
    MessageCopy,
    message_evidence_viewed,
    message_refusal_escalate,
    message_report_create,
)
from apps.moderation.services.notices import action_for_appeal_token, appeal_token_for
from apps.moderation.services.standing import active_strikes, standing_refresh, standings_sweep
from apps.moderation.services.targets import subject_of

__all__ = [
    "ACCOUNT_ACTIONS",
    "APPEALABLE",
    "CONTENT_ACTIONS",
    "DECISIONS",
    "SOURCES",
    "Action",
    "Decision",
    "LiveChatCopy",
    "LiveCopy",
    "MessageCopy",
    "_set_post_flag",
    "action_for_appeal_token",
    "active_strikes",
    "appeal_create",
    "appeal_token_for",
    "can_work_queue",
    "case_claim",
    "case_claim_next",
    "case_decide",
    "case_escalate",
    "case_open_or_merge",
    "case_release",
    "cases_assign",
    "cases_close_no_violation",
    "decisions_for",
    "enforce",
    "live_frame_alert",
    "live_report_create",
    "message_evidence_viewed",
    "message_refusal_escalate",
    "message_report_create",
    "report_create",
    "standing_refresh",
    "standings_sweep",
    "subject_of",
]
