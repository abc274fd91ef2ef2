"""Media messages wait for their checks, as posts do: a MEDIA message is stored PENDING (only
its sender sees it) until its upload is playable and automated detection's pre-publish
check of it is settled; then it is delivered (`services.deliver_pending`) or refused with
the reason in words (`services.reject_pending`).

Settled from three places, each idempotent (a message no longer PENDING is left alone):
media's playable and failed hooks, detection's asset-checked hook (`receivers`), and right
after the send commits (the upload may have been checked before it was sent).
"""

from __future__ import annotations

import logging

from apps.content.audience import Refusal
from apps.media.models import MediaAsset
from apps.messaging.models import Message, Participant
from apps.moderation.detection.models import AssetCheck, Outcome
from apps.moderation.detection.selectors import asset_check_for
from apps.moderation.policies import Policy

logger = logging.getLogger(__name__)

WAIT = "wait"
DELIVER = "deliver"


def _has_minor_member(message: Message) -> bool:
    members = (Participant.objects.filter(conversation_id=message.conversation_id,
                                          state=Participant.State.ACTIVE)
               .select_related("user"))
    return any(p.user.is_minor for p in members if p.user_id != message.sender_id)


def verdict_for(message: Message, asset: MediaAsset | None,
                check: AssetCheck | None) -> str | Refusal:
    """WAIT, DELIVER, or why the message is refused (the sender reads it)."""
    if asset is None or asset.state in (MediaAsset.State.REJECTED, MediaAsset.State.FAILED):
        why = asset.state_reason if asset is not None and asset.state_reason else \
            "The file could not be processed."
        return Refusal("media_failed", f"Your photo or video couldn't be sent: {why}")
    if check is not None and check.state == AssetCheck.State.FAILED:
        return Refusal("media_unchecked", "Your photo or video couldn't be checked, so it "
                       "wasn't sent. Try sending it again.")
    if not asset.is_playable or check is None or check.state != AssetCheck.State.DONE:
        return WAIT
    if check.outcome in (Outcome.BLOCK, Outcome.REVIEW):
        rule = Policy(check.policy).label if check.policy in Policy.values else "safety"
        return Refusal("media_refused", "Your photo or video wasn't sent: it may go against "
                       f"our Community Guidelines on {rule}.")
    if check.outcome == Outcome.AGE_RESTRICT and _has_minor_member(message):
        return Refusal("media_age_restricted", "Your photo or video wasn't sent: it isn't "
                       "suitable for people under 18, and someone in this conversation is.")
    return DELIVER


def settle_message(message_id: int) -> str:
    """Deliver or refuse one waiting media message if its checks are settled."""
    from apps.messaging import services  # services call this module after a send

    message = (Message.objects.filter(pk=message_id, state=Message.State.PENDING,
                                      kind=Message.Kind.MEDIA).first())
    if message is None:
        return "skipped"
    asset = (MediaAsset.objects.filter(pk=message.asset_id).first()
             if message.asset_id is not None else None)
    verdict = verdict_for(message, asset, asset_check_for(asset.pk) if asset else None)
    if verdict == WAIT:
        return WAIT
    if verdict == DELIVER:
        services.deliver_pending(message.pk)
        return DELIVER
    assert isinstance(verdict, Refusal)
    services.reject_pending(message.pk, verdict.message)
    logger.info("messaging.media_refused", extra={"message_id": message.pk,
                                                  "code": verdict.code})
    return verdict.code


def settle_for_asset(*, asset_id: int) -> None:
    """Every media message waiting on this upload (hooks call this)."""
    for message_id in (Message.objects.filter(asset_id=asset_id, state=Message.State.PENDING,
                                              kind=Message.Kind.MEDIA)
                       .values_list("pk", flat=True)):
        settle_message(message_id)
