"""Telling people: the notice of a moderation decision (what happened, why, the rule,
whether it may be appealed) is moderation's record; telling it (the inbox, live, push,
e-mail with a signed appeal link, and its read state) is notifications', through
`notice_hooks` (moderation never writes notifications' tables).
"""

from __future__ import annotations

from django.core import signing
from django.utils import timezone

from apps.core.errors import NotFoundError
from apps.moderation import conf
from apps.moderation.models import (
    EnforcementAction,
    LiveChatEvidence,
    LiveEvidence,
    MessageEvidence,
    Notice,
    TargetType,
)
from apps.moderation.notice_hooks import run_notice_issued_hooks
from apps.moderation.policies import Policy
from apps.moderation.services._common import APPEALABLE, Action

_APPEAL_SALT = "moderation.appeal"
_QUOTE_CHARS = 80  # of a removed direct message, in its notice


def appeal_token_for(action: EnforcementAction) -> str:
    """A signed link token for appealing an account action: a suspended or banned person
    cannot sign in to use the API, so the e-mail about it carries this instead."""
    return signing.dumps({"a": str(action.pk)}, salt=_APPEAL_SALT)


def action_for_appeal_token(token: str) -> EnforcementAction:
    """The action a token names, while its appeal window is open (NotFoundError else)."""
    try:
        data = signing.loads(token, salt=_APPEAL_SALT,
                             max_age=conf.appeal_window())
        action = EnforcementAction.objects.select_related("subject").get(pk=int(data["a"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError,
            EnforcementAction.DoesNotExist):
        raise NotFoundError("This appeal link is not valid (or has expired).",
                            code="not_found") from None
    if action.subject is None:
        raise NotFoundError("This appeal link is not valid.", code="not_found")
    return action


_TARGET_NOUN = {TargetType.POST: "video", TargetType.COMMENT: "comment",
                TargetType.SOUND: "sound", TargetType.USER: "account",
                TargetType.MESSAGE: "message", TargetType.LIVE: "live",
                TargetType.LIVE_MESSAGE: "live chat message"}


def _notice_text(row: EnforcementAction) -> tuple[str, str]:
    noun = _TARGET_NOUN.get(TargetType(row.target_type), "content")
    rule = Policy(row.policy).label
    why = f"It goes against our Community Guidelines on {rule}."
    texts = {
        Action.REMOVE: (f"Your {noun} was removed", why),
        Action.AGE_RESTRICT: ("Your video is age-restricted",
                              f"It is no longer shown to viewers under 18. {why}"),
        Action.DISABLE_COMMENTS: ("Comments were turned off on your video", why),
        Action.SEARCH_BAN: (f"Your {noun} is hidden from search",
                            ("Your account no longer appears in search results, and neither "
                             "do your videos; your followers and anyone with a link still "
                             "see them." if noun == "account" else
                             "It no longer appears in search results; it stays on your "
                             "profile and at its link.") + f" {why}"),
        Action.STRIKE: ("Your account received a strike",
                        f"{why} Strikes expire after {conf.strike_ttl().days} days; more "
                        "strikes lead to feature limits, suspension and a ban."),
        # Account notices name the account and the rule in one sentence; a bare "Until …"
        # read as if the e-mail started mid-sentence.
        Action.SUSPEND: ("Your account is suspended",
                         f"Your account is suspended until {row.expires_at:%d %B %Y} because "
                         f"of activity that goes against our Community Guidelines on {rule}."
                         if row.expires_at else
                         "Your account is suspended because of activity that goes against "
                         f"our Community Guidelines on {rule}."),
        Action.BAN: ("Your account is banned",
                     "Your account is banned because of activity that goes against our "
                     f"Community Guidelines on {rule}."),
        Action.END_LIVE: ("Your live was ended",
                          f"A moderator ended your live{_live_named(row.target_id)}. {why}"),
        Action.KEY_BAN: ("You cannot go live for now",
                         f"Your stream key was revoked{_live_named(row.target_id, 'because of')}"
                         " and you cannot make a new one until "
                         f"{row.expires_at or timezone.now():%d %B %Y}. {why}"),
        Action.RESTORE: (f"Your {noun} was restored",
                         "We reviewed our earlier decision again and reversed it."),
    }
    title, body = texts.get(Action(row.action), ("A moderation decision", why))
    if row.target_type == TargetType.MESSAGE and row.action in (Action.REMOVE, Action.RESTORE):
        body = f"{_message_named(row.target_id, removed=row.action == Action.REMOVE)} {body}"
        others = len((row.detail or {}).get("message_ids", [])) - 1
        if row.action == Action.REMOVE and others > 0:
            more = "message" if others == 1 else "messages"
            body = (f"{body} The same goes for {others} other {more} of yours reported "
                    "with it in that conversation.")
    if row.target_type == TargetType.LIVE_MESSAGE and row.action in (Action.REMOVE,
                                                                      Action.RESTORE):
        body = f"{_live_message_named(row.target_id, removed=row.action == Action.REMOVE)} {body}"
    return title, f"{body} Reason: {row.reason}"


def _message_named(message_id: int, *, removed: bool) -> str:
    """Which direct message, in words the sender recognises: its start and when it was
    sent, from the copy the report kept (moderation never reads messaging's tables)."""
    copy = (MessageEvidence.objects.filter(message_id=message_id)
            .values("body", "kind", "sent_at").order_by("id").first())
    if copy is None:
        named = "Your direct message"
    else:
        text = " ".join(str(copy["body"]).split())
        quoted = (f"“{text[:_QUOTE_CHARS - 1]}…”" if len(text) > _QUOTE_CHARS
                  else f"“{text}”" if text else "(a shared post, profile or media)")
        named = f"Your direct message {quoted} sent on {copy['sent_at']:%d %B %Y}"
    return (f"{named} was removed from the conversation for everyone in it." if removed
            else f"{named} is back in the conversation.")


def _live_named(live_id: int, word: str = "") -> str:
    """' “title”' (or ' during your live “title”'), from the copy a report kept."""
    title = (LiveEvidence.objects.filter(live_id=live_id).order_by("-id")
             .values_list("title", flat=True).first())
    if not title:
        return f" {word} your live" if word else ""
    return f" {word} your live “{title}”" if word else f" “{title}”"


def _live_message_named(message_id: int, *, removed: bool) -> str:
    copy = (LiveChatEvidence.objects.filter(message_id=message_id, reported=True)
            .values("text", "sent_at").order_by("id").first())
    named = "Your live chat message"
    if copy is not None:
        text = " ".join(str(copy["text"]).split())
        quoted = f"“{text[:_QUOTE_CHARS - 1]}…”" if len(text) > _QUOTE_CHARS else f"“{text}”"
        named = f"Your live chat message {quoted} sent on {copy['sent_at']:%d %B %Y}"
    return (f"{named} was removed from the chat for everyone." if removed
            else f"{named} is back in the chat.")


def _notify_action(row: EnforcementAction) -> None:
    assert row.subject_id is not None
    title, body = _notice_text(row)
    _notify(user_id=row.subject_id, action=row, kind=row.action, title=title, body=body,
            policy=row.policy, appealable=row.action in APPEALABLE)


def _notify(*, user_id: int, action: EnforcementAction | None, kind: str, title: str,
            body: str, policy: str, appealable: bool) -> Notice:
    until = timezone.now() + conf.appeal_window() if appealable else None
    notice = Notice.objects.create(user_id=user_id, action=action, kind=kind, title=title,
                                   body=body, policy=policy,
                                   guideline_url=conf.guideline_url(policy),
                                   appealable_until=until)
    run_notice_issued_hooks(notice_id=notice.pk)
    return notice
