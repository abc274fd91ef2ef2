"""Deals from the draft on: the creator submits a draft post, the brand approves or asks for
changes, and publishing labels the post and pays the creator."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.content.models import Post
from apps.content.services import post_update
from apps.content.services.branding import SOURCE_MARKETPLACE, post_set_branded
from apps.core.errors import ApplicationError, ConflictError, NotFoundError
from apps.marketplace.conf import conf
from apps.marketplace.models import Deal
from apps.marketplace.services.deals.closing import _settle
from apps.marketplace.services.deals.rules import (
    S,
    _as_brand,
    _as_creator,
    _category_of,
    _expect,
    _locked,
    _note,
    _text,
)
from apps.payments.services.ledger import (
    post_pending,
)


def deal_approve(*, user: User, deal_id: int) -> Deal:
    with transaction.atomic():
        deal = _locked(deal_id)
        _as_brand(user, deal)
        _expect(deal, S.DRAFT_SUBMITTED, doing="approve the draft")
        deal.state = S.APPROVED
        deal.save(update_fields=["state", "updated_at"])
        _note(
            deal,
            f"{deal.org.name} approved the draft. @{deal.creator.username} can publish it now.",
            actor=user,
        )
    return deal


def deal_request_changes(*, user: User, deal_id: int, notes: Any) -> Deal:
    words = _text(notes, "notes", 2000)
    with transaction.atomic():
        deal = _locked(deal_id)
        _as_brand(user, deal)
        _expect(deal, S.DRAFT_SUBMITTED, doing="ask for changes")
        limit = int(conf("SWIPEME_MARKETPLACE_MAX_CHANGE_ROUNDS"))
        if deal.change_rounds >= limit:
            raise ConflictError(
                f"You already asked for changes {limit} times, the most a "
                "deal allows: approve the draft or open a dispute.",
                code="too_many_rounds",
            )
        deal.change_rounds += 1
        deal.state = S.CHANGES_REQUESTED
        deal.save(update_fields=["change_rounds", "state", "updated_at"])
        _note(deal, words, side="brand", author=user, actor=user)
        _note(
            deal,
            f"{deal.org.name} asked for changes (round {deal.change_rounds} of {limit}).",
            actor=user,
        )
    return deal


# --- the creator ---------------------------------------------------------------------------------


def deal_submit_draft(*, user: User, deal_id: int, post_id: Any) -> Deal:
    """The creator's draft: one of their own posts (a draft, or private until published).
    The first draft moves the held fee into the deal's escrow."""
    if type(post_id) is not int:
        raise ApplicationError(
            "post_id: the id of one of your posts.",
            code="invalid",
            fields={"post_id": ["A post id."]},
        )
    with transaction.atomic():
        deal = _locked(deal_id)
        _as_creator(user, deal)
        _expect(deal, S.ACCEPTED, S.CHANGES_REQUESTED, doing="submit a draft")
        post = (
            Post.objects.filter(pk=post_id, author_id=user.pk)
            .exclude(status=Post.Status.REMOVED)
            .first()
        )
        if post is None:
            raise NotFoundError(
                "No such post of yours.",
                code="post_not_found",
                fields={"post_id": ["Not one of your posts."]},
            )
        if post.status == Post.Status.PUBLISHED and post.visibility == Post.Visibility.PUBLIC:
            raise ApplicationError(
                "Submit the draft before it's public: the brand approves "
                "it first. Save it as a draft or make it private.",
                code="already_public",
                fields={"post_id": ["Public."]},
            )
        missing = [
            h for h in deal.deliverables.get("hashtags", []) if f"#{h}" not in post.caption.lower()
        ]
        if missing:
            raise ApplicationError(
                "The caption must carry the brief's hashtags: "
                + ", ".join(f"#{h}" for h in missing)
                + ".",
                code="missing_hashtags",
                fields={"post_id": ["Hashtags."]},
            )
        if deal.funded_at is None:
            assert deal.hold_set is not None
            try:
                post_pending(
                    key=f"deal-fund:{deal.pk}",
                    pending=deal.hold_set,
                    memo=f"deal {deal.pk}: draft",
                    created_by_id=user.pk,
                )
            except ApplicationError:  # the hold expired (voided by the ledger's sweep)
                raise ConflictError(
                    "The brand's payment hold on this deal expired; ask the "
                    "brand to invite you again.",
                    code="hold_expired",
                ) from None
            deal.funded_at = timezone.now()
        deal.draft_post = post
        deal.state = S.DRAFT_SUBMITTED
        deal.save(update_fields=["draft_post", "funded_at", "state", "updated_at"])
        _note(deal, f"@{deal.creator.username} submitted a draft for review.", actor=user)
    return deal


def deal_publish(*, user: User, deal_id: int) -> Deal:
    """The approved draft goes live with its "Paid partnership" label, and the escrow is
    paid out to the creator's earnings (less the platform fee), in one transaction."""
    with transaction.atomic():
        deal = _locked(deal_id)
        _as_creator(user, deal)
        _expect(deal, S.APPROVED, doing="publish")
        post = deal.draft_post
        if post is None or post.status == Post.Status.REMOVED:
            raise ConflictError("The approved draft is gone; open a dispute.", code="draft_gone")
        category = _category_of(deal)
        post_set_branded(
            post_id=post.pk, partner=deal.org.name, source=SOURCE_MARKETPLACE, category=category
        )
        changes: dict[str, Any] = {}
        if post.visibility != Post.Visibility.PUBLIC:
            changes["visibility"] = Post.Visibility.PUBLIC
        if post.status != Post.Status.PUBLISHED:
            changes["publish"] = "now"
        if changes:
            post = post_update(user=user, post_id=post.pk, **changes)
        if post.status != Post.Status.PUBLISHED:
            raise ConflictError(
                "The video isn't ready to publish yet (it is still being "
                "processed or reviewed); try again shortly.",
                code="not_ready",
            )  # rolls the label and the publish back
        deal.state, deal.published_at = S.PUBLISHED, timezone.now()
        _note(
            deal, f"Published with the label “Paid partnership with @{deal.org.name}”.", actor=user
        )
        _settle(deal, creator_bps=10_000, by=user)
        deal.state, deal.paid_at = S.PAID, timezone.now()
        deal.save(update_fields=["state", "published_at", "paid_at", "updated_at"])
    return deal
