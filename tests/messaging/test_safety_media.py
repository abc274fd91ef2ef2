"""A media message waits for its checks, with the real Celery worker and ffmpeg: uploaded
over tus, sent while the pipeline runs (PENDING, no seq, only its sender sees it), then
delivered once the upload is playable and detection's scan allows it, or refused with the
reason in words when the scan blocks it or the file is not a video."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import TestCase

from apps.messaging import selectors, services
from apps.messaging.models import Conversation, Message
from apps.moderation.detection.models import AssetCheck, PolicyRule
from apps.moderation.detection.services import policy_rules_seed
from apps.moderation.policies import Policy
from tests.media.conftest import make_clip, open_upload, tus_patch, upload_file, wait_for
from tests.messaging.helpers import client_for, direct
from tests.messaging.safety import person

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("moderation_gate_live")]


@pytest.fixture(autouse=True)
def _rules() -> None:
    policy_rules_seed()


def _send_media(sender: Any, conversation: Conversation, asset_id: int) -> Message:
    with TestCase.captureOnCommitCallbacks(execute=True):
        message, created = services.send_message(
            sender, conversation.pk, client_id=str(uuid.uuid4()), kind=Message.Kind.MEDIA,
            asset_id=asset_id)
    assert created
    return message


def _seen_by(user: Any, conversation: Conversation) -> dict[int, Message]:
    me = selectors.participant_for(user, conversation.pk)
    return {m.pk: m for m in selectors.messages_for(me)}


def _settled(message: Message) -> bool:
    message.refresh_from_db()
    return message.state != Message.State.PENDING


def test_a_video_message_waits_for_its_checks_then_reaches_the_recipient(
        celery_worker_process: Any, tmp_path: Path) -> None:
    sender, recipient = person(), person()
    conversation = direct(sender, recipient)
    asset_id = int(upload_file(client_for(sender), make_clip(tmp_path / "clip.mp4")))
    message = _send_media(sender, conversation, asset_id)
    # sent the moment the upload finished: the pipeline and the scan have only begun
    message.refresh_from_db()
    assert message.state == Message.State.PENDING
    assert message.seq is None
    assert message.pk in _seen_by(sender, conversation)
    assert message.pk not in _seen_by(recipient, conversation)
    wait_for(lambda: _settled(message), "the video message to be delivered", seconds=180)
    assert message.state == Message.State.VISIBLE, message.refusal
    assert message.seq is not None
    check = AssetCheck.objects.get(asset_id=asset_id)
    assert check.state == AssetCheck.State.DONE
    conversation.refresh_from_db()
    assert check.decided_at is not None
    assert conversation.last_message_at is not None
    assert conversation.last_message_at >= check.decided_at  # nothing went out before it
    assert message.pk in _seen_by(recipient, conversation)


def test_a_video_the_checks_block_is_refused_and_the_sender_told_why(
        celery_worker_process: Any, tmp_path: Path) -> None:
    # staff set nudity to block at any score: every upload is blocked by the scan
    PolicyRule.objects.filter(policy=Policy.NUDITY_SEXUAL).update(block_at=0.0)
    sender, recipient = person(), person()
    conversation = direct(sender, recipient)
    clip = make_clip(tmp_path / "blocked.mp4", video_source="testsrc", size="240x426")
    asset_id = int(upload_file(client_for(sender), clip))
    message = _send_media(sender, conversation, asset_id)
    wait_for(lambda: _settled(message), "the video message to be refused", seconds=180)
    assert message.state == Message.State.REJECTED
    assert message.seq is None
    assert "Community Guidelines on Nudity and sexual content" in message.refusal
    assert _seen_by(sender, conversation)[message.pk].refusal == message.refusal
    assert message.pk not in _seen_by(recipient, conversation)


def test_a_file_that_is_not_a_video_is_refused_with_the_pipelines_reason(
        celery_worker_process: Any) -> None:
    sender, recipient = person(), person()
    conversation = direct(sender, recipient)
    client = client_for(sender)
    junk = b"this is not a video at all " * 400
    upload = open_upload(client, len(junk))
    assert tus_patch(client, upload["upload_url"], junk, 0).status_code == 204
    message = _send_media(sender, conversation, int(upload["id"]))
    wait_for(lambda: _settled(message), "the message to be refused")
    assert message.state == Message.State.REJECTED
    assert message.refusal.startswith("Your photo or video couldn't be sent: ")
    assert len(message.refusal) > len("Your photo or video couldn't be sent: ") + 10
    assert message.pk not in _seen_by(recipient, conversation)
