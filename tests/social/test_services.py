from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.hooks import export_sections, run_account_removal_hooks
from apps.accounts.models import User
from apps.core.errors import ApplicationError, ForbiddenError, NotFoundError
from apps.social import selectors, services
from apps.social.models import Block, Follow, FollowRequest, Mute
from apps.social.services import FollowState
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory, MuteFactory
from tests.social.helpers import assert_counters_match_rows, graph_snapshot

pytestmark = pytest.mark.django_db


def _counts(user: User) -> tuple[int, int]:
    user.refresh_from_db(fields=["followers_count", "following_count"])
    return user.followers_count, user.following_count


# --- follow ----------------------------------------------------------------------------------


def test_following_a_public_account_creates_a_follow_and_counts_it_once():
    # given
    alice, bob = UserFactory(), UserFactory()

    # when: alice follows bob twice
    first = services.follow_create(follower=alice, followee=bob)
    second = services.follow_create(follower=alice, followee=bob)

    # then
    assert first == second == FollowState.FOLLOWING
    assert Follow.objects.filter(follower=alice, followee=bob).count() == 1
    assert _counts(bob) == (1, 0)
    assert _counts(alice) == (0, 1)


def test_following_a_private_account_makes_a_request_and_counts_nothing():
    # given
    alice, bob = UserFactory(), UserFactory(is_private=True)

    # when
    first = services.follow_create(follower=alice, followee=bob)
    second = services.follow_create(follower=alice, followee=bob)

    # then
    assert first == second == FollowState.REQUESTED
    assert FollowRequest.objects.filter(requester=alice, target=bob).count() == 1
    assert not Follow.objects.exists()
    assert _counts(bob) == (0, 0)


def test_following_yourself_is_refused():
    alice = UserFactory()
    with pytest.raises(ApplicationError) as exc:
        services.follow_create(follower=alice, followee=alice)
    assert exc.value.code == "cannot_follow_self"
    assert not Follow.objects.exists()


def test_the_database_refuses_self_edges_and_duplicate_pairs_whatever_the_caller():
    alice, bob = UserFactory(), UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=alice, followee=alice)
    Follow.objects.create(follower=alice, followee=bob)
    with pytest.raises(IntegrityError), transaction.atomic():
        Follow.objects.create(follower=alice, followee=bob)


def test_following_a_deactivated_account_is_not_found():
    alice, ghost = UserFactory(), UserFactory(deactivated_at=timezone.now())
    with pytest.raises(NotFoundError):
        services.follow_create(follower=alice, followee=ghost)
    assert not Follow.objects.exists()


def test_unfollow_removes_the_follow_and_both_counters_and_is_idempotent():
    # given
    alice, bob = UserFactory(), UserFactory()
    services.follow_create(follower=alice, followee=bob)

    # when
    services.follow_delete(follower=alice, followee=bob)
    services.follow_delete(follower=alice, followee=bob)

    # then
    assert not Follow.objects.exists()
    assert _counts(bob) == (0, 0)
    assert _counts(alice) == (0, 0)


def test_unfollow_cancels_a_pending_request():
    alice, bob = UserFactory(), UserFactory(is_private=True)
    services.follow_create(follower=alice, followee=bob)

    services.follow_delete(follower=alice, followee=bob)

    assert not FollowRequest.objects.exists()


def test_approving_a_request_turns_it_into_a_follow():
    # given
    alice, bob = UserFactory(), UserFactory(is_private=True)
    services.follow_create(follower=alice, followee=bob)
    request = FollowRequest.objects.get()

    # when
    follow = services.follow_request_approve(target=bob, request_id=request.pk)

    # then
    assert (follow.follower_id, follow.followee_id) == (alice.pk, bob.pk)
    assert not FollowRequest.objects.exists()
    assert _counts(bob) == (1, 0)
    assert _counts(alice) == (0, 1)
    assert services.follow_create(follower=alice, followee=bob) == FollowState.FOLLOWING


def test_nobody_else_can_approve_or_deny_a_request():
    # given
    alice, bob, mallory = UserFactory(), UserFactory(is_private=True), UserFactory()
    services.follow_create(follower=alice, followee=bob)
    request = FollowRequest.objects.get()
    before = graph_snapshot()

    # when / then
    with pytest.raises(NotFoundError):
        services.follow_request_approve(target=mallory, request_id=request.pk)
    with pytest.raises(NotFoundError):
        services.follow_request_deny(target=mallory, request_id=request.pk)
    with pytest.raises(NotFoundError):
        services.follow_request_approve(target=alice, request_id=request.pk)
    assert graph_snapshot() == before


def test_denying_deletes_the_request_and_a_second_answer_is_not_found():
    alice, bob = UserFactory(), UserFactory(is_private=True)
    services.follow_create(follower=alice, followee=bob)
    request = FollowRequest.objects.get()

    services.follow_request_deny(target=bob, request_id=request.pk)

    assert not FollowRequest.objects.exists()
    assert not Follow.objects.exists()
    with pytest.raises(NotFoundError):
        services.follow_request_approve(target=bob, request_id=request.pk)


def test_accept_all_approves_every_pending_request_once():
    # given: three requests to bob, one of them from someone who already follows him
    bob = UserFactory(is_private=True)
    requesters = [UserFactory() for _ in range(3)]
    for requester in requesters:
        services.follow_create(follower=requester, followee=bob)
    FollowFactory(follower=requesters[0], followee=bob)
    services.graph_counters_recount(user_ids=[bob.pk, requesters[0].pk])

    # when
    made = services.follow_requests_accept_all(user_id=bob.pk)
    again = services.follow_requests_accept_all(user_id=bob.pk)

    # then
    assert (made, again) == (2, 0)
    assert not FollowRequest.objects.exists()
    assert Follow.objects.filter(followee=bob).count() == 3
    assert_counters_match_rows()


def test_a_request_left_over_from_a_private_past_is_replaced_by_the_follow():
    alice, bob = UserFactory(), UserFactory(is_private=True)
    services.follow_create(follower=alice, followee=bob)
    User.objects.filter(pk=bob.pk).update(is_private=False)

    assert services.follow_create(follower=alice, followee=bob) == FollowState.FOLLOWING

    assert not FollowRequest.objects.exists()
    assert_counters_match_rows()


def test_removing_a_follower_fixes_both_counters():
    alice, bob = UserFactory(), UserFactory()
    services.follow_create(follower=alice, followee=bob)

    services.follower_remove(user=bob, follower=alice)
    services.follower_remove(user=bob, follower=alice)

    assert not Follow.objects.exists()
    assert _counts(bob) == (0, 0)
    assert _counts(alice) == (0, 0)


# --- blocks and mutes ------------------------------------------------------------------------


def test_block_removes_follows_and_requests_both_ways_with_counters_fixed():
    # given: alice and bob follow each other, carol (private) has a request from bob
    alice, bob = UserFactory(), UserFactory()
    services.follow_create(follower=alice, followee=bob)
    services.follow_create(follower=bob, followee=alice)
    carol = UserFactory(is_private=True)
    services.follow_create(follower=bob, followee=carol)
    services.follow_create(follower=carol, followee=alice)

    # when
    services.block_create(blocker=alice, blocked=bob)
    services.block_create(blocker=alice, blocked=bob)  # idempotent

    # then
    assert Block.objects.filter(blocker=alice, blocked=bob).count() == 1
    assert not Follow.objects.filter(follower__in=[alice, bob], followee__in=[alice, bob]).exists()
    assert FollowRequest.objects.filter(requester=bob, target=carol).exists()  # untouched
    assert _counts(alice) == (1, 0)  # carol still follows alice
    assert _counts(bob) == (0, 0)
    assert_counters_match_rows()


def test_block_also_removes_pending_requests_both_ways():
    alice, bob = UserFactory(is_private=True), UserFactory(is_private=True)
    services.follow_create(follower=alice, followee=bob)
    services.follow_create(follower=bob, followee=alice)

    services.block_create(blocker=bob, blocked=alice)

    assert not FollowRequest.objects.exists()


@pytest.mark.parametrize("direction", ["blocker_follows", "blocked_follows"])
def test_neither_side_of_a_block_can_follow_the_other(direction):
    # given
    alice, bob = UserFactory(), UserFactory()
    services.block_create(blocker=alice, blocked=bob)
    follower, followee = (alice, bob) if direction == "blocker_follows" else (bob, alice)
    before = graph_snapshot()

    # when / then
    with pytest.raises(ForbiddenError) as exc:
        services.follow_create(follower=follower, followee=followee)
    assert exc.value.code == "blocked"
    assert graph_snapshot() == before


def test_unblock_does_not_restore_follows():
    alice, bob = UserFactory(), UserFactory()
    services.follow_create(follower=bob, followee=alice)
    services.block_create(blocker=alice, blocked=bob)

    services.block_delete(blocker=alice, blocked=bob)
    services.block_delete(blocker=alice, blocked=bob)

    assert not Block.objects.exists()
    assert not Follow.objects.exists()
    assert services.follow_create(follower=bob, followee=alice) == FollowState.FOLLOWING


def test_blocking_or_muting_yourself_is_refused():
    alice = UserFactory()
    with pytest.raises(ApplicationError) as block_exc:
        services.block_create(blocker=alice, blocked=alice)
    with pytest.raises(ApplicationError) as mute_exc:
        services.mute_create(muter=alice, muted=alice)
    assert (block_exc.value.code, mute_exc.value.code) == ("cannot_block_self", "cannot_mute_self")
    assert not Block.objects.exists()
    assert not Mute.objects.exists()


def test_mute_is_idempotent_and_changes_nothing_else():
    alice, bob = UserFactory(), UserFactory()
    services.follow_create(follower=alice, followee=bob)

    services.mute_create(muter=alice, muted=bob)
    services.mute_create(muter=alice, muted=bob)

    assert Mute.objects.filter(muter=alice, muted=bob).count() == 1
    assert Follow.objects.filter(follower=alice, followee=bob).exists()
    services.mute_delete(muter=alice, muted=bob)
    services.mute_delete(muter=alice, muted=bob)
    assert not Mute.objects.exists()


# --- selectors other apps use ---------------------------------------------------------------


def test_block_and_mute_selectors_answer_both_ways_where_promised():
    # given
    alice, bob, carol, dave = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    BlockFactory(blocker=alice, blocked=bob)
    BlockFactory(blocker=carol, blocked=alice)
    MuteFactory(muter=alice, muted=dave)
    MuteFactory(muter=dave, muted=carol)

    # then
    assert selectors.is_blocked_between(alice.pk, bob.pk)
    assert selectors.is_blocked_between(bob.pk, alice.pk)
    assert not selectors.is_blocked_between(bob.pk, carol.pk)
    assert selectors.blocked_user_ids(alice.pk) == {bob.pk, carol.pk}
    assert selectors.blocked_user_ids(bob.pk) == {alice.pk}
    assert selectors.muted_user_ids(alice.pk) == {dave.pk}
    assert selectors.muted_user_ids(carol.pk) == set()  # nobody is told they were muted


def test_can_view_account_content_respects_privacy_and_blocks():
    owner = UserFactory(is_private=True)
    follower, stranger, blocked = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=follower, followee=owner)
    BlockFactory(blocker=owner, blocked=blocked)

    assert selectors.can_view_account_content(viewer_id=owner.pk, owner=owner)
    assert selectors.can_view_account_content(viewer_id=follower.pk, owner=owner)
    assert not selectors.can_view_account_content(viewer_id=stranger.pk, owner=owner)
    assert not selectors.can_view_account_content(viewer_id=None, owner=owner)
    assert not selectors.can_view_account_content(viewer_id=blocked.pk, owner=owner)


# --- account removal, export and repair ------------------------------------------------------


def test_the_account_removal_hook_purges_the_graph_and_fixes_the_other_sides_counters():
    # given: leaving follows two people, is followed by two, and has every kind of edge
    leaving = UserFactory()
    a, b, c = UserFactory(), UserFactory(), UserFactory(is_private=True)
    services.follow_create(follower=leaving, followee=a)
    services.follow_create(follower=leaving, followee=b)
    services.follow_create(follower=a, followee=leaving)
    services.follow_create(follower=b, followee=leaving)
    services.follow_create(follower=a, followee=b)
    services.follow_create(follower=leaving, followee=c)
    services.block_create(blocker=c, blocked=UserFactory())
    MuteFactory(muter=leaving, muted=c)
    MuteFactory(muter=c, muted=leaving)
    BlockFactory(blocker=leaving, blocked=UserFactory())

    # when: accounts runs its removal hooks (social registered in SocialConfig.ready), inside
    # a transaction as its purge does (content's hook locks the user's posts)
    with transaction.atomic():
        run_account_removal_hooks(user_id=leaving.pk)

    # then
    assert not Follow.objects.filter(follower=leaving).exists()
    assert not Follow.objects.filter(followee=leaving).exists()
    assert not FollowRequest.objects.filter(requester=leaving).exists()
    assert not Mute.objects.filter(muter=leaving).exists()
    assert not Mute.objects.filter(muted=leaving).exists()
    assert not Block.objects.filter(blocker=leaving).exists()
    assert Block.objects.filter(blocker=c).count() == 1
    assert _counts(a) == (0, 1)
    assert _counts(b) == (1, 0)
    assert_counters_match_rows()
    # and the user row can now go without leaving anyone's counters too high
    User.objects.filter(pk=leaving.pk).delete()
    assert_counters_match_rows()


def test_the_data_export_lists_the_users_own_graph_only():
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    services.follow_create(follower=alice, followee=bob)
    services.follow_create(follower=carol, followee=alice)
    MuteFactory(muter=alice, muted=carol)
    MuteFactory(muter=bob, muted=alice)

    data = export_sections()["social_graph"](user_id=alice.pk)

    assert [row["username"] for row in data["following"]] == [bob.username]
    assert [row["username"] for row in data["followers"]] == [carol.username]
    assert [row["username"] for row in data["muted"]] == [carol.username]
    assert all(isinstance(row["id"], str) for row in data["following"])


def test_social_recount_rebuilds_counters_from_rows():
    # given: counters that drifted (rows written around the services)
    alice, bob, carol = UserFactory(), UserFactory(), UserFactory()
    FollowFactory(follower=alice, followee=bob)
    FollowFactory(follower=carol, followee=bob)
    User.objects.filter(pk=carol.pk).update(followers_count=7)
    out = StringIO()

    # when
    call_command("social_recount", stdout=out)

    # then
    assert "corrected 3 user(s)" in out.getvalue()
    assert _counts(bob) == (2, 0)
    assert _counts(carol) == (0, 1)
    assert_counters_match_rows()
    out = StringIO()
    call_command("social_recount", "--user-id", str(bob.pk), stdout=out)
    assert "corrected 0 user(s)" in out.getvalue()


def test_an_unfollow_after_drift_floors_the_counter_at_zero_instead_of_failing():
    alice, bob = UserFactory(), UserFactory()
    FollowFactory(follower=alice, followee=bob)  # counters still 0

    services.follow_delete(follower=alice, followee=bob)

    assert _counts(bob) == (0, 0)
    assert not Follow.objects.exists()
