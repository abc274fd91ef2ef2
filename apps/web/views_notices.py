"""What moderation decided about the viewer's content or account, told on the web:
`/notices` (each decision with what it concerns, the rule, the decision, the date and an
Appeal button into the appeal flow, then the appeal's state) and the page a suspended or
banned person meets at log-in instead of a bare "This account is inactive".

The decisions, their wording and whether they may still be appealed come from
`apps.moderation.selectors`; the appeal itself is moderation's form
(`/moderation/appeal/<token>/`, `services.appeal_create`), reached with a signed token."""

from __future__ import annotations

import time
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from apps.accounts.adapter import INACTIVE_LOGIN_SESSION_KEY, INACTIVE_LOGIN_TTL_SECONDS
from apps.moderation import conf as moderation_conf
from apps.moderation import selectors as moderation_selectors
from apps.moderation import services as moderation_services
from apps.moderation.models import EnforcementAction
from apps.moderation.policies import Policy
from apps.notifications import selectors as notification_selectors
from apps.notifications import services as notification_services
from apps.web.pages import page_of, viewer_of


def appeal_url(action: EnforcementAction) -> str:
    return reverse("moderation:appeal-by-link", args=[moderation_services.appeal_token_for(action)])


@login_required
@require_safe
def notices(request: HttpRequest) -> HttpResponse:
    me = viewer_of(request)
    assert me is not None  # login_required
    # read state: the inbox's (one, whichever page the person read the notice on)
    page = page_of(request, notification_selectors.notices_with_read_state(me), size=20)
    lines = moderation_selectors.notice_lines_for(me, page.rows)
    rows: list[dict[str, Any]] = [{
        "line": line,
        "unread": getattr(line.notice, "read_at", None) is None,
        "post_url": (reverse("web:post", args=[me.username, line.post_id])
                     if line.post_id else None),
        "appeal_url": (appeal_url(line.notice.action)
                       if line.can_appeal and line.notice.action is not None else None),
    } for line in lines]
    # Seeing them is reading them: the header's count goes down with this page.
    unread = [row["line"].notice.pk for row in rows if row["unread"]]
    if unread:
        notification_services.notifications_mark_read_about(user=me, target_type="notice",
                                                            target_ids=unread)
    return render(request, "web/notices.html", {
        "rows": rows, "next_before": page.next_before,
        "appeal_days": moderation_conf.appeal_window().days,
    })


@require_safe
def account_inactive(request: HttpRequest) -> HttpResponse:
    """Where allauth sends a log-in whose password was right but whose account is not
    active (`account_inactive`). The accounts adapter noted whose it was in this
    browser's session; if moderation keeps the account out, say why, until when, and how
    to appeal."""
    noted = request.session.get(INACTIVE_LOGIN_SESSION_KEY)
    block = None
    if isinstance(noted, dict) and time.time() - float(noted.get("at", 0)) \
            < INACTIVE_LOGIN_TTL_SECONDS:
        block = moderation_selectors.account_block_for(int(noted["id"]))
    context: dict[str, Any] = {"refusal": block}  # not "block": the template tag's name
    if block is not None:
        # the notice of this decision says whether it may still be appealed (one rule)
        notice = moderation_selectors.notices_for(block.subject).filter(action=block).first() \
            if block.subject is not None else None
        context.update({
            "banned": block.action == EnforcementAction.Action.BAN,
            "rule": Policy(block.policy).label if block.policy in Policy.values else "",
            "guideline_url": moderation_conf.guideline_url(block.policy),
            "appeal_url": (appeal_url(block) if notice is not None
                           and moderation_selectors.notice_can_appeal(notice) else None),
            "appeal": moderation_selectors.appeal_of(block),
        })
    return render(request, "account/account_inactive.html", context)
