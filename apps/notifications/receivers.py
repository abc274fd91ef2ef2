"""What notifications registers with the lower apps' hooks (`NotificationsConfig.ready`).

Each receiver runs inside the lower app's writing transaction (the comment hook after its
commit, in a transaction of its own) and only records the event in the task outbox
(`apps.core.outbox.enqueue_on_commit`): a rolled-back write tells nobody, a broker outage
loses nothing, and the work (who to tell, the rules, the rows) runs on the
`notifications` queue, never in the request."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from apps.accounts.hooks import register_security_event_hook
from apps.comments.hooks import (
    register_comment_approved_hook,
    register_comment_created_hook,
    register_comment_liked_hook,
)
from apps.content.hooks import (
    register_post_borrowed_part_removed_hook,
    register_post_mentions_added_hook,
    register_post_published_hook,
    register_post_upload_problem_hook,
)
from apps.core.outbox import enqueue_on_commit
from apps.engagement.hooks import register_post_liked_hook
from apps.moderation.notice_hooks import (
    register_notice_issued_hook,
    register_report_resolved_hook,
    register_support_offered_hook,
)
from apps.social.hooks import register_follow_requested_hook, register_followed_hook


def _announce(event: str, **payload: Any) -> None:
    from apps.notifications.tasks import handle_event

    enqueue_on_commit(handle_event, event, payload)


def post_liked(*, user_id: int, post_id: int) -> None:
    _announce("post_liked", user_id=user_id, post_id=post_id)


def comment_liked(*, user_id: int, comment_id: int) -> None:
    _announce("comment_liked", user_id=user_id, comment_id=comment_id)


def comment_created(*, comment_id: int) -> None:
    with transaction.atomic():
        _announce("comment_created", comment_id=comment_id)


def comment_approved(*, comment_id: int) -> None:
    # the same event as a comment created visible: its keys ("comment:<id>:<recipient>")
    # tell each person once; the held comment's own event told nobody
    _announce("comment_created", comment_id=comment_id)


def followed(*, follower_id: int, followee_id: int, via_request: bool) -> None:
    _announce("followed", follower_id=follower_id, followee_id=followee_id,
              via_request=via_request)


def follow_requested(*, request_id: int, requester_id: int, target_id: int) -> None:
    _announce("follow_requested", request_id=request_id, requester_id=requester_id,
              target_id=target_id)


def post_published(*, post_id: int) -> None:
    _announce("post_published", post_id=post_id)


def post_mentions_added(*, post_id: int, user_ids: list[int]) -> None:
    _announce("post_mentions_added", post_id=post_id, user_ids=list(user_ids))


def post_upload_problem(*, post_id: int, asset_id: int, taken_down: bool, problem: str) -> None:
    _announce("post_upload_problem", post_id=post_id, asset_id=asset_id,
              taken_down=taken_down, problem=problem)


def post_borrowed_part_removed(*, post_id: int, original_author_id: int | None,
                               kind: str) -> None:
    _announce("post_borrowed_part_removed", post_id=post_id,
              original_author_id=original_author_id, kind=kind)


def notice_issued(*, notice_id: int) -> None:
    _announce("notice_issued", notice_id=notice_id)


def report_resolved(*, report_id: int) -> None:
    _announce("report_resolved", report_id=report_id)


def support_offered(*, user_id: int, title: str, body: str,
                    resources: list[dict[str, str]]) -> None:
    _announce("support_offered", user_id=user_id, title=title, body=body,
              resources=resources)


def security_event(*, user_id: int, kind: str, detail: dict[str, str]) -> None:
    # the event's own id, minted now: a retried task tells it once, two events twice
    _announce("security", user_id=user_id, kind=kind, detail=detail, uid=uuid.uuid4().hex)


def connect() -> None:
    register_post_liked_hook(post_liked)
    register_comment_liked_hook(comment_liked)
    register_comment_created_hook(comment_created)
    register_comment_approved_hook(comment_approved)
    register_followed_hook(followed)
    register_follow_requested_hook(follow_requested)
    register_post_published_hook(post_published)
    register_post_mentions_added_hook(post_mentions_added)
    register_post_upload_problem_hook(post_upload_problem)
    register_post_borrowed_part_removed_hook(post_borrowed_part_removed)
    register_notice_issued_hook(notice_issued)
    register_report_resolved_hook(report_resolved)
    register_support_offered_hook(support_offered)
    register_security_event_hook(security_event)
