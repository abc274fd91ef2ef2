"""The search ban: an enforcement action on an account or a post that hides it from search
only. Applied from the review console, audited, told to the person in words, appealable,
reversed by a restore; `search_banned_q` is what search excludes."""

from __future__ import annotations

import pytest

from apps.accounts.models import User
from apps.content.models import Post
from apps.core.errors import ApplicationError
from apps.moderation.models import AuditEvent, Case, EnforcementAction, TargetType
from apps.moderation.selectors import search_banned_q
from apps.moderation.services import case_claim, case_decide, case_open_or_merge, enforce
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _banned_users() -> set[int]:
    return set(User.objects.filter(search_banned_q(TargetType.USER)).values_list("pk",
                                                                                  flat=True))


def test_console_decision_hides_an_account_from_search_with_audit_and_notice(
        moderator, web_for, api_for):
    spammer = UserFactory()
    case = case_open_or_merge(target_type="user", target_id=spammer.pk, source="automated",
                              policy="spam_scam")
    mod = moderator("Moderators")
    case_claim(case_id=case.pk, moderator=mod)
    page = web_for(mod).get(f"/moderation/cases/{case.pk}/").content.decode()
    assert 'value="search_ban" data-key="h"' in page
    assert "Hide from search" in page
    response = web_for(mod).post(f"/moderation/cases/{case.pk}/decide",
                                 {"decision": "search_ban", "reason": "Follow-for-follow spam."})
    assert response.status_code == 302

    action = EnforcementAction.objects.get(action="search_ban")
    assert (action.target_type, action.target_id, action.actor_id) == ("user", spammer.pk,
                                                                       mod.pk)
    assert _banned_users() == {spammer.pk}
    assert AuditEvent.objects.filter(verb="enforce_search_ban", action=action,
                                     actor=mod).count() == 1
    assert Case.objects.get(pk=case.pk).status == "closed"
    spammer.refresh_from_db()
    assert spammer.is_active  # nothing else changes
    notice = api_for(spammer).get("/api/v1/me/notices").json()["results"][0]
    assert notice["title"] == "Your account is hidden from search"
    assert "no longer appears in search results" in notice["body"]
    assert "Follow-for-follow spam." in notice["body"]


def test_a_post_search_ban_covers_the_post_and_an_account_ban_covers_its_posts():
    author, other = UserFactory(), UserFactory()
    banned, kept, by_banned_author = (PostFactory(author=author), PostFactory(author=author),
                                      PostFactory(author=other))
    enforce(action="search_ban", target_type="post", target_id=banned.pk, policy="self_harm",
            reason="Dangerous challenge.")
    def hidden() -> set[int]:
        return set(Post.objects.filter(search_banned_q(TargetType.POST))
                   .values_list("pk", flat=True))

    assert hidden() == {banned.pk}
    enforce(action="search_ban", target_type="user", target_id=other.pk, policy="spam_scam",
            reason="Spam.")
    assert hidden() == {banned.pk, by_banned_author.pk}
    assert kept.pk not in hidden()


def test_restore_and_an_upheld_appeal(api_for, moderator):
    user = UserFactory()
    action = enforce(action="search_ban", target_type="user", target_id=user.pk,
                     policy="impersonation", reason="Pretends to be a celebrity.")
    # Appealable like the other restrictions.
    response = api_for(user).post("/api/v1/appeals", {"action_id": str(action.pk)},
                                  format="json")
    assert response.status_code == 201, response.content
    reviewer = moderator("Appeals reviewers")
    appeal_case = Case.objects.get(kind="appeal")
    case_claim(case_id=appeal_case.pk, moderator=reviewer)
    case_decide(case_id=appeal_case.pk, moderator=reviewer, decision="overturn",
                reason="It is a fan account, clearly labelled.")
    assert _banned_users() == set()
    assert EnforcementAction.objects.get(pk=action.pk).reversed_at is not None


def test_search_ban_applies_only_to_accounts_and_posts():
    with pytest.raises(ApplicationError) as refused:
        enforce(action="search_ban", target_type="sound",
                target_id=LibrarySoundFactory().pk, policy="copyright", reason="x")
    assert refused.value.code == "action_not_applicable"
    assert not EnforcementAction.objects.filter(action="search_ban").exists()
