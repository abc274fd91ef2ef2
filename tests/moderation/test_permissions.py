"""What each moderator group may do: which queues it sees (review page, admin list, next
case, claims), who may suspend and ban, who sees the dashboard. A refusal changes nothing."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.core.errors import ForbiddenError
from apps.moderation.models import Case, EnforcementAction, Standing
from apps.moderation.services import case_claim, case_decide, case_open_or_merge
from tests.content.factories import PostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

QUEUE_POLICY = {"general": "spam_scam", "minor_safety": "minor_safety",
                "copyright": "copyright"}

# group -> queues it may work (appeals and senior are made below by other means)
EXPECTED = {
    "Moderators": {"general"},
    "Minor safety specialists": {"general", "minor_safety"},
    "Copyright agents": {"copyright"},
    "Appeals reviewers": set(),
    "Senior moderators": {"general", "minor_safety", "copyright"},
}


def _cases() -> dict[str, Case]:
    return {queue: case_open_or_merge(target_type="post", target_id=PostFactory().pk,
                                      source="automated", policy=policy)
            for queue, policy in QUEUE_POLICY.items()}


@pytest.mark.parametrize("group", list(EXPECTED))
def test_each_group_sees_and_claims_only_its_queues(group, moderator, web_for):
    cases = _cases()
    assert {q: c.queue for q, c in cases.items()} == {q: q for q in cases}
    mod = moderator(group)
    web = web_for(mod)
    listed = web.get("/django-admin/moderation/case/")
    assert listed.status_code == 200
    html = listed.content.decode()
    for queue, case in cases.items():
        allowed = queue in EXPECTED[group]
        page = web.get(f"/moderation/cases/{case.pk}/")
        assert page.status_code == (200 if allowed else 403), (group, queue)
        assert (f"/moderation/cases/{case.pk}/" in html) is allowed
        claim = web.post(f"/moderation/cases/{case.pk}/claim")
        assert claim.status_code == (302 if allowed else 403)
        case.refresh_from_db()
        assert (case.assigned_to_id == mod.pk) is allowed
        nxt = web.post("/moderation/next", {"queue": queue})
        assert nxt.status_code == (302 if allowed else 403)


def test_only_senior_moderators_may_ban_and_a_refused_ban_changes_nothing(moderator,
                                                                           web_for):
    target = UserFactory()
    case = case_open_or_merge(target_type="user", target_id=target.pk, source="automated",
                              policy="hate_harassment")
    plain = moderator("Moderators")
    case_claim(case_id=case.pk, moderator=plain)
    page = web_for(plain).get(f"/moderation/cases/{case.pk}/").content.decode()
    assert 'value="ban" data-key="b" data-confirm="Ban the account?" disabled' in page
    response = web_for(plain).post(f"/moderation/cases/{case.pk}/decide", {"decision": "ban"})
    assert response.status_code == 302
    target.refresh_from_db()
    case.refresh_from_db()
    assert target.is_active
    assert case.status == "open"
    assert not EnforcementAction.objects.exists()
    assert not Standing.objects.exists()
    with pytest.raises(ForbiddenError):
        case_decide(case_id=case.pk, moderator=plain, decision="suspend")

    # escalated, a senior moderator bans
    web_for(plain).post(f"/moderation/cases/{case.pk}/decide", {"decision": "escalate"})
    case.refresh_from_db()
    assert (case.queue, case.assigned_to_id) == ("senior", None)
    assert web_for(plain).get(f"/moderation/cases/{case.pk}/").status_code == 403
    senior = moderator("Senior moderators")
    web_for(senior).post(f"/moderation/cases/{case.pk}/claim")
    web_for(senior).post(f"/moderation/cases/{case.pk}/decide", {"decision": "ban"})
    target.refresh_from_db()
    assert not target.is_active
    assert Standing.objects.get(user=target).state == "banned"


def test_minor_safety_specialists_may_suspend_but_not_ban(moderator):
    target = UserFactory()
    case = case_open_or_merge(target_type="user", target_id=target.pk, source="automated",
                              policy="minor_safety")
    specialist = moderator("Minor safety specialists")
    case_claim(case_id=case.pk, moderator=specialist)
    with pytest.raises(ForbiddenError):
        case_decide(case_id=case.pk, moderator=specialist, decision="ban")
    case_decide(case_id=case.pk, moderator=specialist, decision="suspend")
    assert not User.objects.get(pk=target.pk).is_active
    assert Standing.objects.get(user=target).state == "suspended"


def test_non_staff_and_staff_outside_groups_are_kept_out(web_for, moderator, client):
    case = case_open_or_merge(target_type="post", target_id=PostFactory().pk,
                              source="automated", policy="spam_scam")
    assert client.get(f"/moderation/cases/{case.pk}/").status_code == 302  # to log-in
    assert web_for(UserFactory()).get(f"/moderation/cases/{case.pk}/").status_code == 403
    assert web_for(UserFactory()).get("/moderation/").status_code == 403
    staff = UserFactory(is_staff=True)
    assert web_for(staff).get(f"/moderation/cases/{case.pk}/").status_code == 403
    assert web_for(staff).post(f"/moderation/cases/{case.pk}/claim").status_code == 403
    case.refresh_from_db()
    assert case.assigned_to_id is None


def test_the_dashboard_is_for_senior_moderators(moderator, web_for):
    assert web_for(moderator("Moderators")).get("/moderation/dashboard/").status_code == 403
    assert web_for(moderator("Moderators")).get(
        "/moderation/transparency.csv").status_code == 403
    assert web_for(moderator("Senior moderators")).get(
        "/moderation/dashboard/").status_code == 200


def test_admin_bulk_actions_respect_queues(moderator, web_for):
    cases = _cases()
    mod = moderator("Moderators")
    web = web_for(mod)
    ids = [str(c.pk) for c in cases.values()]
    response = web.post("/django-admin/moderation/case/", {
        "action": "assign_to_me", "_selected_action": ids})
    assert response.status_code == 302
    assigned = set(Case.objects.filter(assigned_to=mod).values_list("queue", flat=True))
    assert assigned == {"general"}
    web.post("/django-admin/moderation/case/", {
        "action": "close_no_violation", "_selected_action": ids})
    assert set(Case.objects.filter(status="closed").values_list("queue", flat=True)) == {
        "general"}
    senior = moderator("Senior moderators")
    web_for(senior).post("/django-admin/moderation/case/", {
        "action": "escalate", "_selected_action": [str(cases["copyright"].pk)]})
    cases["copyright"].refresh_from_db()
    assert cases["copyright"].queue == "senior"


def test_an_expired_claim_can_be_taken_over_and_no_longer_decides(moderator, settings):
    from datetime import timedelta

    from django.utils import timezone

    from apps.core.errors import ConflictError

    case = case_open_or_merge(target_type="post", target_id=PostFactory().pk,
                              source="automated", policy="spam_scam")
    first, second = moderator(), moderator()
    case_claim(case_id=case.pk, moderator=first)
    with pytest.raises(ConflictError):
        case_claim(case_id=case.pk, moderator=second)
    Case.objects.filter(pk=case.pk).update(claim_expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ConflictError) as stale:
        case_decide(case_id=case.pk, moderator=first, decision="no_violation")
    assert stale.value.code == "not_claimed"
    case_claim(case_id=case.pk, moderator=second)
    case_decide(case_id=case.pk, moderator=second, decision="no_violation")
    case.refresh_from_db()
    assert (case.status, case.resolved_by_id) == ("closed", second.pk)


@pytest.mark.parametrize("model", ["case", "report", "enforcementaction", "strike", "standing",
                                   "bansignal", "notice", "appeal", "auditevent"])
def test_the_admin_pages_render_read_only(model, moderator, web_for):
    case = case_open_or_merge(target_type="post", target_id=PostFactory().pk,
                              source="report", policy="spam_scam", reporter=UserFactory())
    from apps.moderation.services import enforce

    enforce(action="ban", target_type="user", target_id=UserFactory().pk, policy="spam_scam",
            reason="ring", case=case)
    web = web_for(moderator("Senior moderators"))
    listing = web.get(f"/django-admin/moderation/{model}/")
    assert listing.status_code == 200
    assert web.get(f"/django-admin/moderation/{model}/add/").status_code == 403
    if model == "case":
        page = web.get(f"/django-admin/moderation/case/{case.pk}/change/")
        assert page.status_code == 200
        assert 'name="_save"' not in page.content.decode()
