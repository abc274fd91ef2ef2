"""Search history of signed-in users: record (from the search service's full-mode
searches), delete one, clear all, and the account hooks (purge, export).

One row per user and normalised query (`query_key`): searching it again moves it to the
top instead of adding a row; at most `MAX_PER_USER` rows are kept per user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import NotFoundError
from apps.core.ids import allocate_ids, parse_id
from apps.search.engine.text import normalize
from apps.search.models import HashtagViewer, SearchHistory, SearchTermUser

MAX_PER_USER = 50
QUERY_MAX_LENGTH = 200


def query_key(query: str) -> str:
    """The normalised form history and trending count a query by: case, accents and width
    folded, whitespace collapsed. "" for a query with no text."""
    return " ".join(normalize(query).split())[:QUERY_MAX_LENGTH]


def record_search(user: User | AnonymousUser | None, query: str) -> SearchHistory | None:
    """Remember a full-mode search of a signed-in user (nothing for anyone else or for a
    query with no text). A repeat of the same normalised query moves to the top and keeps
    the latest spelling."""
    if user is None or not user.is_authenticated:
        return None
    text = " ".join(query.split())[:QUERY_MAX_LENGTH]
    key = query_key(text)
    if not key:
        return None
    assert isinstance(user, User)
    with transaction.atomic():
        (pk,) = allocate_ids(1)
        # One statement whatever races: INSERT ... ON CONFLICT (user, normalized) DO UPDATE.
        SearchHistory.objects.bulk_create(
            [SearchHistory(id=pk, user=user, query=text, normalized=key,
                           searched_at=timezone.now())],
            update_conflicts=True, unique_fields=["user", "normalized"],
            update_fields=["query", "searched_at"])
        keep = SearchHistory.objects.filter(user=user).order_by("-searched_at", "-id") \
            .values("pk")[:MAX_PER_USER]
        SearchHistory.objects.filter(user=user).exclude(pk__in=keep).delete()
    return SearchHistory.objects.filter(user=user, normalized=key).first()


def history_delete(*, user: User, history_id: str | int) -> None:
    """Delete one of the user's entries; someone else's (or no such) id is a 404."""
    pk = parse_id(history_id)
    deleted = SearchHistory.objects.filter(user=user, pk=pk).delete()[0] if pk else 0
    if not deleted:
        raise NotFoundError("No such search in your history.")


def history_clear(*, user: User) -> int:
    """Delete all of the user's search history; returns how many entries went."""
    return SearchHistory.objects.filter(user=user).delete()[0]


def history_purge_user(*, user_id: int) -> None:
    """Account removal (accounts' hook, in the purge transaction): the user's history, and
    the per-user rows behind trending's distinct-user threshold."""
    SearchHistory.objects.filter(user_id=user_id).delete()
    SearchTermUser.objects.filter(user_id=user_id).delete()
    HashtagViewer.objects.filter(user_id=user_id).delete()


def history_export_user(*, user_id: int) -> list[dict[str, Any]]:
    """Data export section: the user's recent searches, newest first."""
    return [{"query": row.query, "searched_at": row.searched_at.isoformat()}
            for row in SearchHistory.objects.filter(user_id=user_id)
            .order_by("-searched_at", "-id")]
