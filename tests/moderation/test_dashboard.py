"""The dashboard's figures and the transparency CSV, from real decisions."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.moderation.models import Case
from apps.moderation.services import (
    appeal_create,
    case_claim,
    case_decide,
    case_open_or_merge,
    enforce,
)
from tests.content.factories import PostFactory

pytestmark = pytest.mark.django_db


def _decided(moderator, policy: str, decision: str) -> Case:
    case = case_open_or_merge(target_type="post", target_id=PostFactory().pk,
                              source="automated", policy=policy)
    case_claim(case_id=case.pk, moderator=moderator)
    return case_decide(case_id=case.pk, moderator=moderator, decision=decision)


def test_dashboard_and_transparency_export(moderator, web_for):
    senior = moderator("Senior moderators")
    other = moderator("Appeals reviewers")
    removed = _decided(senior, "spam_scam", "remove")
    _decided(senior, "spam_scam", "no_violation")
    late = _decided(senior, "violence_graphic", "age_restrict")
    assert late.resolved_at is not None
    Case.objects.filter(pk=late.pk).update(sla_due_at=late.resolved_at - timedelta(hours=1))
    enforce(action="limit_reach", target_type="post", target_id=PostFactory().pk,
            policy="misinformation", reason="automated")
    case_open_or_merge(target_type="post", target_id=PostFactory().pk, source="automated",
                       policy="spam_scam")
    # one appeal, overturned by another moderator
    action = removed.actions.get(action="remove")
    assert action.subject is not None
    appeal = appeal_create(user=action.subject, action_id=action.pk)
    case_claim(case_id=appeal.case_id, moderator=other)
    case_decide(case_id=appeal.case_id, moderator=other, decision="overturn")

    page = web_for(senior).get("/moderation/dashboard/")
    assert page.status_code == 200
    d = page.context["d"]
    general = next(q for q in d["queues"] if q["queue"] == "general")
    assert general["open"] == 1
    # 4 cases closed in the period (3 reviews, 1 appeal); the age-restricted one late
    assert (d["closed"], d["closed_in_sla"]) == (4, 3)
    assert (d["appeals_decided"], d["appeals_overturned"]) == (1, 1)
    assert d["overturn_rate"] == 1.0
    # remove + strike + age_restrict + restore by people; limit_reach by automation
    assert (d["automated"], d["human"]) == (1, 4)
    assert {r["policy"]: r["n"] for r in d["by_policy"]} == {
        "spam_scam": 2, "violence_graphic": 1, "misinformation": 1}
    html = page.content.decode()
    assert "75%" in html
    assert "100%" in html

    today = timezone.localdate()
    response = web_for(senior).get("/moderation/transparency.csv", {
        "since": (today - timedelta(days=1)).isoformat(),
        "until": (today + timedelta(days=1)).isoformat()})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["period_start", "period_end", "policy", "measure", "detail", "count"]
    by_key = {(r[2], r[3], r[4]): int(r[5]) for r in rows[1:]}
    assert by_key[("spam_scam", "cases_closed", "actioned")] == 1
    assert by_key[("spam_scam", "cases_closed", "no_violation")] == 1
    assert by_key[("spam_scam", "cases_closed", "overturned")] == 1
    assert by_key[("misinformation", "automated_actions", "limit_reach")] == 1
    assert by_key[("spam_scam", "human_actions", "remove")] == 1

    # an empty period, and bad dates
    past = web_for(senior).get("/moderation/transparency.csv",
                               {"since": "2020-01-01", "until": "2020-02-01"})
    assert all(int(r[5]) == 0 for r in list(csv.reader(io.StringIO(
        past.content.decode())))[1:])
    assert web_for(senior).get("/moderation/transparency.csv",
                               {"since": "yesterday"}).status_code == 400
    assert web_for(senior).get("/moderation/dashboard/",
                               {"since": "2026-02-01", "until": "2026-01-01"}).status_code == 400
