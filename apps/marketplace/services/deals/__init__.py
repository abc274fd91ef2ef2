"""Deals between a brand (an ads organisation) and a creator, and their money.

The state machine (each step under the deal's row lock, in one transaction with its money
and a system message; a step asked twice finds the state moved and is refused in words):

    invited --accept--> accepted --draft--> draft_submitted --approve--> approved
       |  \\--counter--> countered (the brand accepts: accepted, or counters back: invited)
       \\--decline--> declined      draft_submitted --changes (≤ N rounds)--> changes_requested
    approved --publish--> published --> paid (the same step)
    any open state --cancel--> cancelled
    after the draft --dispute--> disputed --staff--> paid or cancelled

Money (USD micros on the ledger, `apps.payments.services.ledger`):
- accept: `hold` the fee from the brand's `ad_balance` into the deal's `marketplace_escrow`
  account (key `deal-hold:<id>`; refused in words when the balance is short);
- first draft: `post_pending` the hold (`deal-fund:<id>`): the fee is in escrow;
- cancelled before the draft: `void_pending` (`deal-void:<id>`): nothing left the balance;
- the end (`deal-settle:<id>`, one set, at most once): escrow → the creator's earnings (their
  share less the platform fee), → platform revenue (the fee), → the brand's balance (the
  rest). Publishing pays the whole share; a brand cancelling after the draft pays the
  creator `SWIPEME_MARKETPLACE_LATE_CANCEL_CREATOR_BPS`; a creator withdrawing after the
  draft refunds the brand in full; a dispute is settled by staff with the share they decide
  (audited).
"""

from __future__ import annotations

from apps.marketplace.services.deals.closing import deal_cancel, deal_dispute, dispute_resolve
from apps.marketplace.services.deals.delivery import (
    deal_approve,
    deal_publish,
    deal_request_changes,
    deal_submit_draft,
)
from apps.marketplace.services.deals.negotiation import (
    deal_accept,
    deal_counter,
    deal_counter_answer,
    deal_decline,
    deal_invite,
    deal_message,
)
from apps.marketplace.services.deals.rules import (
    AFTER_DRAFT,
    CURRENCY,
    OPEN_BEFORE_DRAFT,
    RESTRICTED_CATEGORIES,
    S,
    clean_deliverables,
    clean_fee,
)

__all__ = [
    "AFTER_DRAFT",
    "CURRENCY",
    "OPEN_BEFORE_DRAFT",
    "RESTRICTED_CATEGORIES",
    "S",
    "clean_deliverables",
    "clean_fee",
    "deal_accept",
    "deal_approve",
    "deal_cancel",
    "deal_counter",
    "deal_counter_answer",
    "deal_decline",
    "deal_dispute",
    "deal_invite",
    "deal_message",
    "deal_publish",
    "deal_request_changes",
    "deal_submit_draft",
    "dispute_resolve",
]
