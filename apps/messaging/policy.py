"""Who may message whom, and what: the one place messaging's services ask before they
write. Every refusal is a `MessagingRefused` whose message the sender reads.

- `check_start(sender, recipient)`: a new one-to-one conversation, or adding someone to a
  group. Never across a block (either way); the minors rules of `content.audience`; the
  recipient's "who can message me" setting (unless they already accepted a conversation
  with the sender).
- `check_send(...)`: every message. One-to-one: never across a block, the minors rules
  again (a follow may have gone), the setting while the conversation still sits in the
  recipient's Requests, and there at most one more message after the first. Groups: the
  members' blocks only hide messages (`blocked_sender_q`); no photos or videos from a
  non-friend of a member under 18. Text through moderation's text checks (classifier, staff
  term lists, link-spam signals): between people who accepted each other what detection
  would block and clear spam are refused; in a stranger's Requests also what would go to
  review, and link spam from "limit reach" up (`_bar`). The same text to
  many conversations within an hour is refused as spam (counted in Redis, behind the
  breaker; while Redis is unavailable the count is skipped, the other checks still run).
- `check_edit(sender, conversation, body)`: an edited text, through the same text checks.
- `support_for(sender, body)`: support resources for the composer's answer when a text
  read as self-harm (it is sent; never refused).
- `record_refused_text(refused, conversation_id=)`: after a text refusal rolled back, the
  refusal is recorded by moderation (the sender's risk) and escalated to review when it
  was a minor's sexualisation or a threat.
- `lands_in_requests(sender, recipient)`: a message from someone the recipient does not
  follow waits in their Requests.
- `blocked_sender_q(viewer_id)`: the messages a viewer no longer sees (their sender and
  the viewer blocked each other, either way); the selectors exclude it.

The minors rules themselves live in `apps.content.audience`.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings
from django.db.models import Q
from rest_framework import status

from apps.accounts.models import User
from apps.content import audience
from apps.core import redis_health
from apps.core.errors import ApplicationError
from apps.messaging.models import Conversation, Message, MessagingSettings, Participant
from apps.moderation.detection.models import SEVERITY, Outcome
from apps.moderation.detection.services import text_verdict
from apps.moderation.detection.services.refusals import text_refusal_record
from apps.moderation.detection.services.support import support_offer_for
from apps.moderation.detection.services.text_config import text_config
from apps.moderation.detection.text import normalised_for_repeats
from apps.moderation.policies import Policy
from apps.social.models import Block, Follow
from apps.social.selectors import blocked_either_way, is_blocked_between

logger = logging.getLogger(__name__)

# An unanswered request: the first message and at most one more.
REQUEST_MESSAGE_LIMIT = 2
# The same text (folded, links and tags aside) to more conversations than this within the
# window is refused as spam.
REPEAT_CONVERSATION_LIMIT = 8
REPEAT_WINDOW_SECONDS = 3600


class MessagingRefused(ApplicationError):  # noqa: N818 (the name the services agreed on)
    """A message or conversation the rules refuse: 403 (429 for the spam throttle) in the
    API's error shape, with words the sender reads."""

    status_code: int = status.HTTP_403_FORBIDDEN

    def __init__(self, code: str, message: str, *,
                 status_code: int = status.HTTP_403_FORBIDDEN,
                 refused_text: RefusedText | None = None) -> None:
        super().__init__(message, code=code, status_code=status_code)
        self.refused_text = refused_text


@dataclass(frozen=True)
class RefusedText:
    """What moderation keeps of a text the checks refused (`record_refused_text`)."""

    sender: User
    body: str
    policy: str
    source: str


def _refuse_refusal(refusal: audience.Refusal | None) -> None:
    if refusal is not None:
        raise MessagingRefused(refusal.code, refusal.message)


# --- blocks ------------------------------------------------------------------------------------


def blocked_sender_q(viewer_id: int, sender_field: str = "sender_id") -> Q:
    """Messages whose sender and the viewer blocked each other (either way): hidden from
    the viewer, however old (the selectors `.exclude()` it). System messages (no sender)
    never match."""
    return Q(blocked_either_way(viewer_id, sender_field))


def _check_block(sender: User, other: User) -> None:
    if not is_blocked_between(sender.pk, other.pk):
        return
    if Block.objects.filter(blocker_id=sender.pk, blocked_id=other.pk).exists():
        raise MessagingRefused("blocked", "You blocked this account. Unblock them to send "
                               "messages.")
    # Never say that they blocked the sender.
    raise MessagingRefused("unavailable", "You can't message this account.")


# --- the recipient's setting -------------------------------------------------------------------


def _follows(follower_id: int, followee_id: int) -> bool:
    return Follow.objects.filter(follower_id=follower_id, followee_id=followee_id).exists()


_WHO = MessagingSettings.WhoCanMessage


def _check_setting(sender: User, recipient: User) -> None:
    choice = (MessagingSettings.objects.filter(user_id=recipient.pk)
              .values_list("who_can_message", flat=True).first()
              or MessagingSettings.WhoCanMessage.EVERYONE)
    if choice == _WHO.EVERYONE:
        return
    if choice == _WHO.NO_ONE:
        raise MessagingRefused("not_accepting_messages",
                               "This account doesn't accept direct messages.")
    if choice == _WHO.FOLLOWING and not _follows(recipient.pk, sender.pk):
        raise MessagingRefused("following_only", "This account accepts messages only from "
                               "people they follow.")
    if choice == _WHO.FRIENDS and not audience.are_friends(sender.pk, recipient.pk):
        raise MessagingRefused("friends_only", "This account accepts messages only from "
                               "friends (people they follow who follow them back).")


def _direct_key(a_id: int, b_id: int) -> str:
    low, high = sorted((a_id, b_id))
    return f"{low}:{high}"


def _accepted_direct(sender: User, recipient: User) -> bool:
    """The recipient already accepted (or started) a one-to-one with the sender."""
    return Participant.objects.filter(
        conversation__direct_key=_direct_key(sender.pk, recipient.pk), user_id=recipient.pk,
        state=Participant.State.ACTIVE, accepted_at__isnull=False).exists()


# --- the entry points ---------------------------------------------------------------------------


def check_start(sender: User, recipient: User) -> None:
    """May `sender` start a one-to-one with `recipient`, or add them to a group?"""
    if sender.pk == recipient.pk:
        raise MessagingRefused("self", "You can't start a conversation with yourself.")
    if not recipient.is_discoverable:
        raise MessagingRefused("unavailable", "You can't message this account.")
    _check_block(sender, recipient)
    _refuse_refusal(audience.can_message(sender, recipient))
    if not _accepted_direct(sender, recipient):
        _check_setting(sender, recipient)


def lands_in_requests(sender: User, recipient: User) -> bool:
    """A message from someone the recipient does not follow waits in their Requests."""
    return not _follows(recipient.pk, sender.pk)


def check_send(sender: User, conversation: Conversation, participants: Iterable[Participant],
               *, kind: str, body: str, is_first_in_request: bool) -> None:
    """May `sender` send this message to these (active) participants? `participants` may
    include the sender; their `user` should be loaded (select_related). Call it under the
    conversation's row lock: the request limit counts the sender's messages."""
    others = [p for p in participants if p.user_id != sender.pk]
    users = [p.user for p in others]
    _refuse_refusal(audience.can_use_messages(sender))
    in_request = False
    if conversation.kind == Conversation.Kind.DIRECT and others:
        other = others[0]
        _check_block(sender, other.user)
        _refuse_refusal(audience.can_message(sender, other.user))
        if other.accepted_at is None:
            in_request = True
            _check_setting(sender, other.user)
            if not is_first_in_request:
                _check_request_limit(sender, conversation)
    else:
        for user in users:
            if audience.is_protected_minor(user):
                raise MessagingRefused("recipient_under_16", "A member of this group can't "
                                       "receive direct messages.")
    if kind == Message.Kind.MEDIA:
        _refuse_refusal(audience.can_send_media(sender, users))
    if body.strip():
        _check_text(sender, body, in_request=in_request)
        _check_repeats(sender, conversation, body)


def check_edit(sender: User, conversation: Conversation, body: str) -> None:
    """An edited text goes through the same text checks as a new one (an edit must not
    slip past them)."""
    in_request = (conversation.kind == Conversation.Kind.DIRECT and Participant.objects.filter(
        conversation_id=conversation.pk, state=Participant.State.ACTIVE,
        accepted_at__isnull=True).exclude(user_id=sender.pk).exists())
    _check_text(sender, body, in_request=in_request)


def _check_request_limit(sender: User, conversation: Conversation) -> None:
    sent = (Message.objects.filter(conversation_id=conversation.pk, sender_id=sender.pk)
            .exclude(kind=Message.Kind.SYSTEM).exclude(state=Message.State.REJECTED)
            .count())
    if sent >= REQUEST_MESSAGE_LIMIT:
        raise MessagingRefused("request_limit", "Your message request hasn't been accepted "
                               "yet. You can send more once they accept it.")


# --- text ------------------------------------------------------------------------------------


_TEXT_REFUSALS: dict[str, str] = {
    Policy.SPAM_SCAM: "This message looks like spam (links, or text sent many times), so it "
                      "wasn't sent.",
    Policy.HATE_HARASSMENT: "This message looks abusive, so it wasn't sent. Please keep it "
                            "respectful.",
}


def _bar(policy_name: str, *, in_request: bool) -> str:
    """From which outcome a finding refuses a message. Between people who accepted each
    other only what detection would block, and clear spam (the abuse classifier scores
    casual swearing high: friends' banter is not refused). A stranger's Requests: what
    would go to review, and link spam from "limit reach" up."""
    if policy_name == Policy.SPAM_SCAM:
        return Outcome.LIMIT_REACH if in_request else Outcome.REVIEW
    return Outcome.REVIEW if in_request else Outcome.BLOCK


def _check_text(sender: User, body: str, *, in_request: bool) -> None:
    """Moderation's text checks on the body: the classifier, the staff term lists and the
    link-spam signals (nothing recorded: the message does not exist yet). The staff's
    configuration (rules, settings, term lists parsed, the heads' thresholds) is the one
    kept per process behind moderation's version key (`text_config`, as live chat's): four
    statements and the lists' parsing fewer a send; an edit in the admin applies at once."""
    verdict = text_verdict(content=body, author=sender, language=sender.language,
                           field="message",
                           classifier_from=_bar(Policy.HATE_HARASSMENT, in_request=in_request),
                           config=text_config())
    refused = [d for d in verdict.decisions
               if SEVERITY[d.outcome] >= SEVERITY[_bar(d.policy, in_request=in_request)]]
    if not refused:
        return
    worst = max(refused, key=lambda d: SEVERITY[d.outcome])
    if worst.source == "link_risk":
        message = LINK_REFUSAL
    else:
        message = _TEXT_REFUSALS.get(worst.policy, "This message goes against our "
                                     "Community Guidelines, so it wasn't sent.")
    raise MessagingRefused("message_refused", message, refused_text=RefusedText(
        sender, body, worst.policy, worst.source))


LINK_REFUSAL = ("This message has a link that looks like a scam or phishing site, so it "
                "wasn't sent.")


def support_for(sender: User, body: str) -> dict[str, object] | None:
    """Support resources for the sender when their text read as self-harm (never refused:
    the composer shows them with the sent message; the inbox tells it too)."""
    if not body.strip():
        return None
    offer = support_offer_for(content=body, language=sender.language)
    return offer.as_json() if offer is not None else None


def record_refused_text(refused: MessagingRefused, *, conversation_id: int) -> None:
    """After the refusing transaction rolled back: moderation records the refused text (it
    counts toward the sender's risk) and escalates a minor's sexualisation or a threat to
    the review queue with the text kept as evidence. Call it outside that transaction."""
    found = refused.refused_text
    if found is None:
        return
    text_refusal_record(user=found.sender, surface="message", policy=found.policy,
                        signal=found.source, content=found.body,
                        conversation_id=conversation_id, language=found.sender.language)


# --- the same text to many people ----------------------------------------------------------------


@cache
def _redis() -> redis.Redis:
    """Short timeouts, behind the default breaker: a hung Redis costs one timeout, then
    nothing while the breaker is open."""
    return redis_health.GuardedRedis.from_url(
        settings.REDIS_URL, decode_responses=True, **redis_health.hot_path_options())


def _check_repeats(sender: User, conversation: Conversation, body: str) -> None:
    folded = normalised_for_repeats(body)
    if not folded:
        return  # too short to tell copy-paste from "ok see you"
    digest = hashlib.sha256(folded.encode()).hexdigest()[:24]
    key = f"dm:repeat:{sender.pk}:{digest}"
    now = time.time()
    try:
        # conversation -> when the text first went there; older than the window drop out
        pipe = _redis().pipeline()
        pipe.zremrangebyscore(key, 0, now - REPEAT_WINDOW_SECONDS)
        pipe.zadd(key, {str(conversation.pk): now}, nx=True)
        pipe.zcard(key)
        pipe.expire(key, REPEAT_WINDOW_SECONDS)
        _, added, count, _ = pipe.execute()
        if not (added and count > REPEAT_CONVERSATION_LIMIT):
            return
        _redis().zrem(key, str(conversation.pk))
    except redis.RedisError as exc:
        if not redis_health.is_outage(exc):
            raise  # a bad command is a bug, not an outage
        logger.warning("dm repeat count skipped: %s", exc)
        return
    raise MessagingRefused(
        "repeated_message", "You've sent this same message to many people in the last hour. "
        "Write something personal, or wait a while before sending it again.",
        status_code=status.HTTP_429_TOO_MANY_REQUESTS)
