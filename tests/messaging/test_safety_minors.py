"""The minors rules of direct messages (content.audience, asked by messaging's policy):
under 16 no messages at all; 16-17 only with friends (mutual follows), no media from
non-friends; an adult cannot start a conversation with a minor who does not follow them
back."""

from __future__ import annotations

import pytest

from apps.messaging import services
from apps.messaging.models import Message
from apps.social.models import Follow
from tests.content.factories import MediaAssetFactory
from tests.messaging.helpers import friends, send
from tests.messaging.safety import person, refused
from tests.social.factories import FollowFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_under_16_cannot_start_send_or_be_messaged_even_by_friends() -> None:
    kid, adult, teen = person(15), person(30), person(17)
    friends(kid, adult)
    friends(kid, teen)
    refused(lambda: services.start_direct(kid, adult), "messages_under_16")
    refused(lambda: services.start_direct(adult, kid), "recipient_under_16")
    refused(lambda: services.start_direct(teen, kid), "recipient_under_16")
    refused(lambda: services.create_group(adult, [kid.pk, teen.pk]), "recipient_under_16")


def test_under_16_in_a_conversation_from_before_cannot_write_or_be_written_to() -> None:
    # a date of birth corrected after the conversation started
    kid, adult = person(30), person(30)
    friends(kid, adult)
    conversation = services.start_direct(adult, kid)
    send(kid, conversation, "hello")
    kid.date_of_birth = person(15).date_of_birth
    kid.save(update_fields=["date_of_birth"])
    refused(lambda: send(kid, conversation, "still here"), "messages_under_16")
    refused(lambda: send(adult, conversation, "are you?"), "recipient_under_16")


def test_an_adult_cannot_start_with_a_minor_who_does_not_follow_them_back() -> None:
    teen, adult = person(17), person(30)
    FollowFactory(follower=adult, followee=teen)  # the adult follows; the teen does not
    refused(lambda: services.start_direct(adult, teen), "recipient_friends_only")
    FollowFactory(follower=teen, followee=adult)  # now friends
    conversation = services.start_direct(adult, teen)
    assert send(adult, conversation, "hi there").seq == 1


def test_a_minor_messages_only_friends_both_ways() -> None:
    teen, adult, other_teen = person(16), person(25), person(17)
    FollowFactory(follower=teen, followee=adult)  # the teen follows, not followed back
    refused(lambda: services.start_direct(teen, adult), "minor_friends_only")
    refused(lambda: services.start_direct(teen, other_teen), "minor_friends_only")
    friends(teen, other_teen)
    conversation = services.start_direct(teen, other_teen)
    assert send(teen, conversation, "hey").state == Message.State.VISIBLE


def test_when_the_follow_ends_the_conversation_with_a_minor_stops() -> None:
    teen, adult = person(17), person(30)
    friends(teen, adult)
    conversation = services.start_direct(adult, teen)
    send(adult, conversation, "hello")
    Follow.objects.filter(follower=teen, followee=adult).delete()
    refused(lambda: send(adult, conversation, "hello again"), "recipient_friends_only")
    refused(lambda: send(teen, conversation, "bye"), "minor_friends_only")


def test_only_a_friend_can_add_a_minor_to_a_group_and_non_friends_send_no_media() -> None:
    teen, friend, stranger = person(17), person(30), person(30)
    friends(teen, friend)
    friends(friend, stranger)
    refused(lambda: services.create_group(stranger, [teen.pk, friend.pk]),
            "recipient_friends_only")
    group = services.create_group(friend, [teen.pk, stranger.pk], "hiking")
    # text from a member who is not the minor's friend goes
    assert send(stranger, group, "see you saturday").seq is not None
    asset = MediaAssetFactory(owner=stranger)
    refused(lambda: send(stranger, group, "", kind=Message.Kind.MEDIA, asset_id=asset.pk),
            "media_friends_only")
    assert not Message.objects.filter(asset=asset).exists()
    # the minor's friend may send a video (delivered: the arranged upload is checked)
    video = MediaAssetFactory(owner=friend)
    message = send(friend, group, "", kind=Message.Kind.MEDIA, asset_id=video.pk)
    message.refresh_from_db()
    assert message.state == Message.State.VISIBLE


def test_adults_are_not_limited_by_the_minors_rules() -> None:
    a, b = person(18), person(40)
    conversation = services.start_direct(a, b)
    assert send(a, conversation, "hello").seq == 1
    asset = MediaAssetFactory(owner=a)
    assert send(a, conversation, "", kind=Message.Kind.MEDIA, asset_id=asset.pk).pk
