"""Two moderators claiming the same case at the same moment, each in its own thread with
its own database connection: exactly one gets it."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from apps.core.errors import ConflictError
from apps.moderation.models import AuditEvent, Case
from apps.moderation.services import case_claim, case_claim_next, case_open_or_merge
from tests.content.factories import PostFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*calls: Any) -> list[Any]:
    """Run each call in its own thread, released together; results (or exceptions)."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int, call: Any) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the loser's ConflictError is the result
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_two_moderators_claiming_one_case_at_once_exactly_one_wins(moderator):
    alice, bob = moderator(username="alice"), moderator(username="bob")
    for _ in range(5):
        post = PostFactory()
        case = case_open_or_merge(target_type="post", target_id=post.pk, source="automated",
                                  policy="spam_scam")
        pids: set[int] = set()

        def claim(who: Any, case_id: int = case.pk, pids: set[int] = pids) -> Any:
            pids.add(_backend_pid())
            return case_claim(case_id=case_id, moderator=who)

        results = _race(lambda: claim(alice), lambda: claim(bob))
        assert len(pids) == 2  # two real database sessions
        winners = [r for r in results if isinstance(r, Case)]
        losers = [r for r in results if isinstance(r, ConflictError)]
        assert len(winners) == 1, results
        assert len(losers) == 1, results
        assert losers[0].code == "case_claimed"
        case.refresh_from_db()
        assert case.assigned_to_id == winners[0].assigned_to_id
        assert AuditEvent.objects.filter(case=case, verb="case_claimed").count() == 1


def test_moderators_pulling_the_next_case_at_once_get_different_cases(moderator):
    alice, bob = moderator(username="alice"), moderator(username="bob")
    ids = set()
    for _ in range(2):
        post = PostFactory()
        ids.add(case_open_or_merge(target_type="post", target_id=post.pk, source="automated",
                                   policy="spam_scam").pk)
    results = _race(lambda: case_claim_next(queue="general", moderator=alice),
                    lambda: case_claim_next(queue="general", moderator=bob))
    assert all(isinstance(r, Case) for r in results), results
    assert {r.pk for r in results} == ids
    assert {r.assigned_to_id for r in results} == {alice.pk, bob.pk}


def test_reports_of_one_target_racing_merge_into_one_case():
    from tests.factories import UserFactory

    post = PostFactory()
    reporters = [UserFactory() for _ in range(4)]
    results = _race(*[
        (lambda who=who: case_open_or_merge(target_type="post", target_id=post.pk,
                                            source="report", policy="spam_scam",
                                            reporter=who))
        for who in reporters])
    assert all(isinstance(r, Case) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Case.objects.get().reports_count == 4
