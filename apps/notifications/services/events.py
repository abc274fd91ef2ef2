"""From what the lower apps announced to whom to tell: each event (the hooks' names, sent
through the task outbox to `tasks.handle_event`) is resolved here into candidates, read
fresh from the database when the task runs (so what was deleted or hidden meanwhile is
seen by the rules), then `inbox.notify` does the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.comments.models import Comment, CommentMention
from apps.content.models import Mention, Post, Sound
from apps.moderation import services as moderation_services
from apps.moderation.models import Notice, Report
from apps.notifications import types
from apps.notifications.models import Notification
from apps.notifications.services._common import Candidate
from apps.notifications.services.fanout import new_post_fan_out
from apps.notifications.services.inbox import notify
from apps.social.selectors import discoverable_q, is_blocked_between

EXCERPT = 120


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[:EXCERPT - 1] + "…"


def _post_liked(*, user_id: int, post_id: int) -> Iterator[Candidate]:
    author_id = Post.objects.filter(pk=post_id).values_list("author_id", flat=True).first()
    if author_id is not None:
        yield Candidate(author_id, types.POST_LIKED.name, f"post_liked:{user_id}:{post_id}",
                        actor_id=user_id, target_type="post", target_id=post_id,
                        group_key=f"post_liked:post:{post_id}")


def _comment_liked(*, user_id: int, comment_id: int) -> Iterator[Candidate]:
    comment = Comment.objects.filter(pk=comment_id).only("author_id", "post_id", "text").first()
    if comment is not None:
        yield Candidate(comment.author_id, types.COMMENT_LIKED.name,
                        f"comment_liked:{user_id}:{comment_id}", actor_id=user_id,
                        target_type="comment", target_id=comment_id,
                        group_key=f"comment_liked:comment:{comment_id}",
                        data={"excerpt": _excerpt(comment.text), "post_id": str(comment.post_id)})


def _comment_created(*, comment_id: int) -> Iterator[Candidate]:
    """The post's creator (a comment), the author of the comment replied to and whom a
    reply answers (a reply), everyone else it mentions (a mention): one notification per
    person per comment, the most specific type."""
    comment = (Comment.objects.select_related("post", "parent").filter(pk=comment_id).first())
    if comment is None or comment.status != Comment.Status.VISIBLE:
        return
    data = {"excerpt": _excerpt(comment.text), "post_id": str(comment.post_id)}
    told: dict[int, str] = {}
    if comment.parent is not None:
        told[comment.parent.author_id] = types.REPLY.name
    if comment.reply_to_user_id is not None:
        told.setdefault(comment.reply_to_user_id, types.REPLY.name)
    told.setdefault(comment.post.author_id, types.COMMENT.name)
    for user_id in CommentMention.objects.filter(comment_id=comment_id).values_list(
            "user_id", flat=True):
        told.setdefault(user_id, types.MENTION_COMMENT.name)
    for recipient, kind in told.items():
        yield Candidate(recipient, kind, f"comment:{comment_id}:{recipient}",
                        actor_id=comment.author_id, target_type="comment", target_id=comment_id,
                        data=data)


def _followed(*, follower_id: int, followee_id: int, via_request: bool) -> Iterator[Candidate]:
    if via_request:
        # The followee approved the request: they know; the requester is told instead.
        yield Candidate(follower_id, types.FOLLOW_ACCEPTED.name,
                        f"follow_accepted:{follower_id}:{followee_id}", actor_id=followee_id,
                        target_type="user", target_id=followee_id)
        return
    yield Candidate(followee_id, types.FOLLOW.name, f"follow:{follower_id}:{followee_id}",
                    actor_id=follower_id, target_type="user", target_id=follower_id,
                    group_key=f"follow:user:{followee_id}")


def _follow_requested(*, request_id: int, requester_id: int, target_id: int) -> Iterator[Candidate]:
    yield Candidate(target_id, types.FOLLOW_REQUEST.name, f"follow_request:{request_id}",
                    actor_id=requester_id, target_type="follow_request", target_id=request_id)


def _mentioned(post: Post, user_ids: Iterable[int]) -> Iterator[Candidate]:
    """A caption's mentions (its key: told once per post and person, even if the caption
    is edited to drop and mention them again)."""
    data = {"excerpt": _excerpt(post.caption)}
    for user_id in user_ids:
        yield Candidate(user_id, types.MENTION_POST.name, f"mention_post:{post.pk}:{user_id}",
                        actor_id=post.author_id, target_type="post", target_id=post.pk,
                        data=data)


def _post_mentions_added(*, post_id: int, user_ids: list[int]) -> Iterator[Candidate]:
    """A published post's caption edited to mention more people; those still mentioned
    when the task runs are told."""
    post = Post.objects.filter(pk=post_id).only("author_id", "caption").first()
    if post is None:
        return
    yield from _mentioned(post, Mention.objects.filter(
        post_id=post_id, user_id__in=user_ids).values_list("user_id", flat=True))


def _post_published(*, post_id: int) -> Iterator[Candidate]:
    """The people the caption mentions, the owner of the sound it uses and, for a duet or
    stitch, the original's creator. (The followers who asked for the author's posts are
    told by `fanout.new_post_fan_out`.)"""
    post = Post.objects.filter(pk=post_id).only(
        "author_id", "sound_id", "caption", "derived_from_id", "derived_kind").first()
    if post is None:
        return
    yield from _mentioned(post, Mention.objects.filter(post_id=post_id).values_list(
        "user_id", flat=True))
    if post.sound_id is not None:
        owner = (Sound.objects.filter(pk=post.sound_id)
                 .values_list("original_owner_id", "title").first())
        if owner is not None and owner[0] is not None:
            yield Candidate(owner[0], types.SOUND_USED.name, f"sound_used:{post_id}",
                            actor_id=post.author_id, target_type="post", target_id=post_id,
                            group_key=f"sound_used:sound:{post.sound_id}",
                            data={"sound_id": str(post.sound_id), "sound_title": owner[1]})
    yield from _remixed(post)


def _remixed(post: Post) -> Iterator[Candidate]:
    """A duet or stitch tells the original's creator. The studio credits the original in
    the publishing transaction (`studio.takedown.link_on_publish`), before this runs after
    the commit. Grouped per original and kind: "maya and 3 others dueted your video"."""
    if post.derived_from_id is None or post.derived_kind not in (Post.DerivedKind.DUET,
                                                                 Post.DerivedKind.STITCH):
        return
    original_author = (Post.objects.filter(pk=post.derived_from_id)
                       .values_list("author_id", flat=True).first())
    if original_author is None:
        return
    kind = str(post.derived_kind)
    yield Candidate(original_author, types.POST_REMIXED.name, f"post_remixed:{post.pk}",
                    actor_id=post.author_id, target_type="post", target_id=post.pk,
                    group_key=f"post_remixed:{kind}:{post.derived_from_id}",
                    data={"kind": kind, "original_id": str(post.derived_from_id)})


def _post_upload_problem(*, post_id: int, asset_id: int, taken_down: bool,
                         problem: str) -> Iterator[Candidate]:
    """The creator of a post that could not go out (or was taken down) because of its
    upload, with the reason content gave. The target is the upload (the post is a draft or
    removed: the rule "nothing about content that is gone" is for others' content); the
    link is the post's page, which its owner can open."""
    post = (Post.objects.select_related("author").filter(pk=post_id)
            .only("author_id", "author__username").first())
    if post is None:
        return
    key = f"upload_problem:{post_id}:{asset_id}{':taken_down' if taken_down else ''}"
    yield Candidate(post.author_id, types.UPLOAD_PROBLEM.name, key, target_type="upload",
                    target_id=asset_id, data={
                        "post_id": str(post_id), "taken_down": taken_down, "problem": problem,
                        "path": reverse("web:post", args=[post.author.username, post_id])})


def _post_borrowed_part_removed(*, post_id: int, original_author_id: int | None,
                                kind: str) -> Iterator[Candidate]:
    """The creator of a duet or stitch whose original left public view: their post is
    being re-rendered without the borrowed part. The original's creator is named only
    while the creator may still see them (a block hides the name)."""
    post = Post.objects.filter(pk=post_id).only("author_id").first()
    if post is None:
        return
    name = ""
    if original_author_id is not None and not is_blocked_between(post.author_id,
                                                                 original_author_id):
        name = (User.objects.filter(discoverable_q(), pk=original_author_id)
                .values_list("username", flat=True).first() or "")
    yield Candidate(post.author_id, types.REMIX_ORIGINAL_GONE.name,
                    f"remix_original_gone:{post_id}", target_type="post", target_id=post_id,
                    data={"kind": kind, "original_username": name})


# Notice kinds (moderation's action names and its own) that concern the account
ACCOUNT_NOTICE_KINDS = frozenset({"strike", "suspend", "ban", "feature_limit", "key_ban"})
APPEAL_NOTICE_KINDS = frozenset({"appeal_granted", "appeal_rejected"})


def notice_type(notice: Notice) -> str:
    """The notification type of a moderation notice: an appeal's outcome, what counts
    against the account (mandatory), a removal, or a limit on (or the restoring of) one
    video, comment or sound."""
    if notice.kind in APPEAL_NOTICE_KINDS:
        return types.APPEAL_DECIDED.name
    if notice.kind in ACCOUNT_NOTICE_KINDS or (
            notice.action is not None and notice.action.target_type == "user"):
        return types.MODERATION_ACCOUNT.name
    if notice.kind in ("remove", "end_live"):  # a live ended by a moderator: told like a removal
        return types.MODERATION_REMOVAL.name
    return types.MODERATION_LIMIT.name


def _notice_issued(*, notice_id: int) -> Iterator[Candidate]:
    notice = Notice.objects.select_related("action").filter(pk=notice_id).first()
    if notice is None:
        return
    appeal_path = ""
    if notice.appealable_until is not None and notice.action is not None:
        token = moderation_services.appeal_token_for(notice.action)
        appeal_path = reverse("moderation:appeal-by-link", args=[token])
    yield Candidate(notice.user_id, notice_type(notice), f"notice:{notice_id}",
                    target_type="notice", target_id=notice_id, data={
                        "kind": notice.kind, "title": notice.title, "body": notice.body,
                        "policy": notice.policy, "guideline_url": notice.guideline_url,
                        "appeal_path": appeal_path,
                        "appealable_until": (notice.appealable_until.isoformat()
                                             if notice.appealable_until else ""),
                    })


def _report_resolved(*, report_id: int) -> Iterator[Candidate]:
    report = Report.objects.filter(pk=report_id).exclude(
        outcome=Report.Outcome.PENDING).first()
    if report is None:
        return
    yield Candidate(report.reporter_id, types.REPORT_OUTCOME.name, f"report:{report_id}",
                    target_type="report", target_id=report_id, data={
                        "outcome": report.outcome, "target_type": report.target_type,
                        "policy": report.policy})


def _support_offered(*, user_id: int, title: str, body: str,
                     resources: list[dict[str, str]]) -> Iterator[Candidate]:
    """Support resources for someone whose text read as self-harm: at most one a day (the
    key), never grouped with anything else."""
    day = timezone.now().date().isoformat()
    yield Candidate(user_id, types.SUPPORT_RESOURCES.name, f"support:{user_id}:{day}",
                    target_type="user", target_id=user_id,
                    data={"title": title, "body": body, "resources": resources[:5]})


def _security(*, user_id: int, kind: str, detail: dict[str, str], uid: str) -> Iterator[Candidate]:
    yield Candidate(user_id, types.SECURITY.name, f"security:{user_id}:{uid}",
                    target_type="user", target_id=user_id, data={"kind": kind, **detail})


RESOLVERS: dict[str, Callable[..., Iterator[Candidate]]] = {
    "post_liked": _post_liked,
    "comment_liked": _comment_liked,
    "comment_created": _comment_created,
    "followed": _followed,
    "follow_requested": _follow_requested,
    "post_published": _post_published,
    "post_mentions_added": _post_mentions_added,
    "post_upload_problem": _post_upload_problem,
    "post_borrowed_part_removed": _post_borrowed_part_removed,
    "notice_issued": _notice_issued,
    "report_resolved": _report_resolved,
    "support_offered": _support_offered,
    "security": _security,
}


def event_handle(*, event: str, payload: dict[str, Any]) -> list[Notification]:
    """Resolve and tell (the task `notifications.handle_event`). Safe to run twice."""
    rows = notify(list(RESOLVERS[event](**payload)))
    if event == "post_published":
        new_post_fan_out(int(payload["post_id"]))
    return rows
