"""Branded content: the "Paid partnership with @brand" label on a post.

Content owns the columns (`Post.branded_partner`, `branded_source`, `branded_category`);
this is the only writer. Three callers set it: the author's own toggle (any post, with or
without the marketplace), the marketplace when a deal's post is published, and moderators
(an undisclosed paid promotion reported and confirmed). The rules:

- The partner is a brand's name as shown: 1-100 printable characters, no "@" needed.
- A post labelled by the marketplace or a moderator cannot be un-labelled by its author
  (`BrandedLockedError`): the disclosure is owed to viewers, not optional.
- A branded post in an ads restricted category (alcohol, gambling, dating, financial,
  weight loss) is age-restricted with it: the one audience rule (`content.audience`) then
  keeps it from minors and signed-out viewers on every surface. Removing the label never
  lifts an age restriction (moderation may have set it too).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from apps.content.hooks import content_changed
from apps.content.models import Post
from apps.content.services.public_media import posts_public_media_changed
from apps.core.errors import ApplicationError, ForbiddenError, NotFoundError

SOURCE_AUTHOR = "author"
SOURCE_MARKETPLACE = "marketplace"
SOURCE_MODERATOR = "moderator"
SOURCES = (SOURCE_AUTHOR, SOURCE_MARKETPLACE, SOURCE_MODERATOR)
# The ads' restricted categories (apps.ads.models.RestrictedCategory; content sits below ads
# and names them as plain strings).
RESTRICTED_CATEGORIES = ("alcohol", "gambling", "dating", "financial", "weight_loss")
PARTNER_MAX_LENGTH = 100


class BrandedLockedError(ForbiddenError):
    code = "branded_locked"


def clean_partner(value: object) -> str:
    if not isinstance(value, str):
        raise ApplicationError(
            "Name the brand that paid for this post.",
            code="invalid",
            fields={"branded_partner": ["A brand name is required."]},
        )
    partner = " ".join(value.strip().lstrip("@").split())
    if not partner or len(partner) > PARTNER_MAX_LENGTH or not partner.isprintable():
        raise ApplicationError(
            "Name the brand that paid for this post (1 to 100 characters).",
            code="invalid",
            fields={"branded_partner": ["Between 1 and 100 printable characters."]},
        )
    return partner


def label_words(partner: str) -> str:
    """What viewers read on the post."""
    return f"Paid partnership with @{partner}" if partner else ""


def post_set_branded(
    *, post_id: int, partner: str, source: str, category: str = "", author_id: int | None = None
) -> Post:
    """Label a post as branded content (or, with an empty partner, remove the label).

    `author_id` is given for the author's own toggle: the post must be theirs, and a label
    the marketplace or a moderator put on stays. Runs in one transaction under the post's
    row lock; search and the public media URLs hear of it (an age restriction changes who
    may watch signed out)."""
    if source not in SOURCES:
        raise ValueError(f"unknown branded source {source!r}")
    if category and category not in RESTRICTED_CATEGORIES:
        raise ApplicationError(
            "Unknown restricted category.",
            code="invalid",
            fields={"branded_category": ["Not a restricted category."]},
        )
    cleaned = clean_partner(partner) if partner else ""
    with transaction.atomic():
        post = (
            Post.objects.select_for_update(of=("self",))
            .filter(pk=post_id)
            .exclude(status=Post.Status.REMOVED)
            .first()
        )
        if post is None or (author_id is not None and post.author_id != author_id):
            raise NotFoundError("No such post.", code="not_found")
        if (
            author_id is not None
            and post.branded_source in (SOURCE_MARKETPLACE, SOURCE_MODERATOR)
            and (cleaned, category) != (post.branded_partner, post.branded_category)
        ):
            raise BrandedLockedError(
                "This post's paid partnership label was set by "
                + (
                    "a deal in the creator marketplace"
                    if post.branded_source == SOURCE_MARKETPLACE
                    else "our moderators"
                )
                + " and can't be changed or removed."
            )
        newly_restricted = bool(cleaned and category and not post.age_restricted)
        post.branded_partner = cleaned
        post.branded_source = source if cleaned else ""
        post.branded_category = category if cleaned else ""
        fields = ["branded_partner", "branded_source", "branded_category", "updated_at"]
        if newly_restricted:
            post.age_restricted = True
            fields.append("age_restricted")
        post.updated_at = timezone.now()
        post.save(update_fields=fields)
        if newly_restricted:
            posts_public_media_changed(post_ids=[post.pk])
        content_changed(kind="post", ids=[post.pk])
    return post
