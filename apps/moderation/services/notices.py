"""Telling people: in-app notices of moderation decisions, and the e-mails (with a signed
appeal link) for removals, strikes, suspensions, bans and appeal outcomes.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import NotFoundError
from apps.moderation import conf
from apps.moderation.models import EnforcementAction, Notice, TargetType
from apps.moderation.notice_hooks import run_notice_issued_hooks
from apps.moderation.policies import Policy
from apps.moderation.services._common import APPEALABLE, Action

_APPEAL_SALT = "moderation.appeal"


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


# Decisions the person is e-mailed about, as well as told in the app: what took their work
# down or counts against the account (a restriction such as age-restricting leaves the post
# up and is told in the app only).
EMAILED_ACTIONS = frozenset({Action.REMOVE, Action.STRIKE, Action.SUSPEND, Action.BAN})


def _email_action(row: EnforcementAction) -> None:
    """After commit: tell the person a removal, strike, suspension or ban by e-mail, with
    the rule and a signed appeal link (a suspended or banned person cannot sign in to
    read their notices, so the link works without an account)."""
    if row.subject_id is None or row.action not in EMAILED_ACTIONS:
        return
    user = User.objects.filter(pk=row.subject_id).only("email", "username").first()
    if user is None or not user.email:
        return
    title, body = _notice_text(row)
    site = settings.SITE_URL.rstrip("/")
    link = f"{site}/moderation/appeal/{appeal_token_for(row)}/"
    text = (f"Hi {user.username},\n\n{body}\n\nThe rule: {site}{conf.guideline_url(row.policy)}\n"
            f"You can appeal within {conf.appeal_window().days} days: {link}\n")
    if row.action not in (Action.SUSPEND, Action.BAN):
        text += f"Your notices: {site}/notices\n"
    transaction.on_commit(lambda: send_mail(f"SwipeMe: {title}", text, None, [user.email],
                                            fail_silently=True))


def _email_appeal_outcome(user_id: int, *, overturned: bool, reason: str,
                          account: bool = True) -> None:
    """An appeal of a decision that was e-mailed: the outcome goes by e-mail too (a
    suspended or banned person cannot sign in to read the notice). After commit."""
    email = User.objects.filter(pk=user_id).values_list("email", flat=True).first()
    if not email:
        return
    title = "Your appeal was granted" if overturned else "Your appeal was reviewed"
    body = ("A different moderator reviewed our decision and upheld it." if not overturned
            else "We reversed our decision; you can log in again." if account
            else "We reversed our decision: what we took down is back and the strike is "
                 "removed.")
    transaction.on_commit(lambda: send_mail(f"SwipeMe: {title}", f"{body}\n\n{reason}\n",
                                            None, [email], fail_silently=True))


_TARGET_NOUN = {TargetType.POST: "video", TargetType.COMMENT: "comment",
                TargetType.SOUND: "sound", TargetType.USER: "account"}


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
        Action.RESTORE: (f"Your {noun} was restored",
                         "We reviewed our earlier decision again and reversed it."),
    }
    title, body = texts.get(Action(row.action), ("A moderation decision", why))
    return title, f"{body} Reason: {row.reason}"


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


def notices_mark_read(*, user: User, notice_ids: Iterable[int]) -> int:
    return Notice.objects.filter(user=user, pk__in=list(notice_ids),
                                 read_at__isnull=True).update(read_at=timezone.now())
