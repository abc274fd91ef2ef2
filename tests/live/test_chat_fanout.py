"""The room's batched fan-out (apps/live/chat/room.py `Room`): frames for everyone said in
one window reach each socket as `batch` frames, in order; a viewer's hidden authors (blocks,
either way) are left out of their batch, and a block or unblock made during the live
applies to the open socket at once (the standing's per-user version key); a message
deleted before its window went out is never shown, one already shown is withdrawn; a frame
for one person never overtakes the window before it. End to end through the real ASGI
server, the real Redis channel layer and real websocket clients; the window's rules on the
`Room` itself with stand-in connections (like the outbox's tests)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from apps.live.chat import broadcast, selectors, services
from apps.live.chat.outbox import Outbox
from apps.live.chat.room import (
    BATCH_BYTES,
    Room,
    _read_blocks_sync,
    batch_text,
    batches,
    own_blocks,
)
from apps.live.models import LiveChatMessage, LiveStream
from apps.notifications.live import send_to_groups
from apps.social.services import block_create, block_delete
from tests.factories import UserFactory
from tests.live.live_helpers import ChatSocket, chat_connected, host, on_air

FRAMES = 12


def _said(live: LiveStream, author: Any, text: str) -> str:
    """A shown message as `chat_post` tells the room after its commit (its id)."""
    message = LiveChatMessage.objects.create(live=live, author=author, text=text)
    [payload] = selectors.message_payloads(live, [message])
    broadcast.send(live.pk, {"type": "message", "message": payload}, author=author.pk)
    return str(message.pk)


async def _frames(socket: ChatSocket) -> list[dict[str, Any]]:
    """What reached the socket before its ping's answer (ticks left out)."""
    return list(await socket.quiet(skip=("tick",)))


def _texts(frames: list[dict[str, Any]]) -> list[str]:
    return [f["message"]["text"] for f in frames if f["type"] == "message"]


@pytest.mark.django_db(transaction=True)
def test_batched_frames_keep_order_apply_blocks_at_once_and_withdraw_removed(
    live_asgi_server: str,
) -> None:
    creator = host()
    live, _ = on_air(creator)
    alice, carol, bob = UserFactory(), UserFactory(), UserFactory()
    url = live_asgi_server.replace("http://", "ws://") + f"/ws/live/{live.pk}/"
    # one moment's messages (one group_send_many): bob and carol in turn
    burst = [
        (
            broadcast.room_group(live.pk),
            {
                "type": "live.event",
                "author": (carol if seq % 3 == 0 else bob).pk,
                "frame": {"type": "message", "message": {"id": str(seq), "text": f"m{seq}"}},
            },
        )
        for seq in range(FRAMES)
    ]

    async def run() -> None:
        async with (
            chat_connected(url, None, cookie={}) as watcher,
            chat_connected(url, alice) as viewer,
        ):
            await sync_to_async(send_to_groups)(burst)
            everything = [f"m{seq}" for seq in range(FRAMES)]
            assert _texts(await _frames(watcher)) == everything
            assert _texts(await _frames(viewer)) == everything
            assert watcher.batches >= 1  # fewer writes than frames

            # alice blocks carol while both sockets are open: at once, carol is left out of
            # alice's batches (and only hers)
            await sync_to_async(block_create)(blocker=alice, blocked=carol)
            await sync_to_async(_said)(live, carol, "carol after the block")
            await sync_to_async(_said)(live, bob, "bob after the block")
            assert _texts(await _frames(viewer)) == ["bob after the block"]
            assert _texts(await _frames(watcher)) == [
                "carol after the block",
                "bob after the block",
            ]
            await sync_to_async(block_delete)(blocker=alice, blocked=carol)
            await sync_to_async(_said)(live, carol, "carol after the unblock")
            assert _texts(await _frames(viewer)) == ["carol after the unblock"]
            await _frames(watcher)

            # a shown message the host deletes is withdrawn from every screen
            shown = await sync_to_async(_said)(live, bob, "soon gone")
            assert _texts(await _frames(watcher)) == ["soon gone"]
            await sync_to_async(services.chat_delete)(creator, live.pk, shown)
            after = await _frames(watcher)
            assert {"type": "deleted", "message": shown} in after

            # deleted at once (one moment, usually one window): never shown, or withdrawn
            gone = {"type": "message", "message": {"id": "gone", "text": "gone"}}
            await sync_to_async(send_to_groups)(
                [
                    (
                        broadcast.room_group(live.pk),
                        {"type": "live.event", "author": bob.pk, "frame": gone},
                    ),
                    (
                        broadcast.room_group(live.pk),
                        {"type": "live.event", "frame": {"type": "deleted", "message": "gone"}},
                    ),
                ]
            )
            seen = await _frames(watcher)
            if "gone" in _texts(seen):
                assert seen[-1] == {"type": "deleted", "message": "gone"}

    asyncio.run(run())


class Member:
    """A connection as the room sees it: what was pushed to it, in order."""

    def __init__(self, user_id: int | None, hidden: set[int] | None = None) -> None:
        self.user_id = user_id
        self.hidden_authors = hidden or set()
        self.frames: list[dict[str, Any]] = []
        self.writes = 0
        self.closed: list[int] = []
        self.room: Room | None = None

    def push(self, text: str, *, droppable: bool = False, count: int = 1) -> None:
        self.writes += 1
        frame = json.loads(text)
        frames = frame["frames"] if frame["type"] == "batch" else [frame]
        assert len(frames) == count
        self.frames += frames

    def close_after(self, code: int) -> None:
        self.closed.append(code)


def _message(seq: int, author: int) -> dict[str, Any]:
    return {
        "type": "live.event",
        "author": author,
        "frame": {"type": "message", "message": {"id": str(seq), "text": f"m{seq}"}},
    }


def _seen(member: Member) -> list[str]:
    out = []
    for frame in member.frames:
        out.append(frame["message"]["id"] if frame["type"] == "message" else frame["type"])
    return out


def test_a_window_drops_what_was_removed_in_it_and_keeps_each_viewers_order() -> None:
    room = Room(1, layer=None)
    watcher, blocking, banned = Member(None), Member(7, {3}), Member(5)
    room.members = {"w": watcher, "b": blocking, "x": banned}  # type: ignore[dict-item]
    for seq, author in enumerate([2, 3, 2, 5, 2]):
        room.dispatch(_message(seq, author))
    # deleted in the window: never shown; the deletion of a message not in it goes out
    room.dispatch({"type": "live.event", "frame": {"type": "deleted", "message": "2"}})
    room.dispatch({"type": "live.event", "frame": {"type": "deleted", "message": "99"}})
    watcher.room = room
    room.answer(watcher, json.dumps({"type": "pong"}))  # type: ignore[arg-type]
    # a frame for one person after them, then more for everyone
    room.dispatch({"type": "live.user", "user": 5, "frame": {"type": "muted"}})
    room.dispatch(_message(5, 5))
    # author 5 banned: their messages still in the window go, the removal itself goes out
    room.dispatch({"type": "live.event", "frame": {"type": "user_removed", "user": "5"}})
    room.dispatch(_message(6, 3))
    room.dispatch({"type": "live.user", "user": 5, "frame": {"type": "banned"}, "close": True})
    room.deliver(room.pending)

    assert _seen(watcher) == ["0", "1", "4", "deleted", "pong", "user_removed", "6"]
    assert watcher.writes == 3  # a batch, its answer, a batch
    assert _seen(blocking) == ["0", "4", "deleted", "user_removed"]  # 3 is hidden from 7
    assert _seen(banned) == ["0", "1", "4", "deleted", "muted", "user_removed", "6", "banned"]
    assert banned.closed == [broadcast.CLOSE_BANNED]


def test_a_large_window_is_split_in_order_under_the_frame_size() -> None:
    big = [
        json.dumps({"type": "message", "seq": i, "pad": "x" * (BATCH_BYTES // 3)}) for i in range(7)
    ]
    out = batches(big)
    assert [count for _, count in out] == [2, 2, 2, 1]
    frames: list[dict[str, Any]] = []
    for text, _ in out:
        frame = json.loads(text)
        frames += frame["frames"] if frame["type"] == "batch" else [frame]
    assert [f["seq"] for f in frames] == list(range(7))
    one = json.dumps({"type": "message", "seq": 1})
    assert batches([one]) == [(one, 1)] == [batch_text([one])]


def test_the_outbox_limits_writes_and_counts_a_dropped_batchs_frames_as_missed() -> None:
    async def run() -> None:
        sent: list[str] = []
        opened = asyncio.Event()

        async def send(text: str) -> None:
            await opened.wait()
            sent.append(text)

        async def close(code: int) -> None:
            pass

        box = Outbox(send, close, limit=2, stall_seconds=3600)
        box.put("first", count=9)
        await asyncio.sleep(0)  # the writer holds it in the socket's send
        box.put("second", count=3)
        box.put("third", count=4)
        assert len(box) == 2  # writes, not frames
        box.put("fourth", count=5)  # full: dropped, its 5 frames missed
        assert (box.missed, box.dropped) == (5, 5)
        opened.set()
        for _ in range(50):
            await asyncio.sleep(0)
        assert sent[:3] == ["first", "second", "third"]
        assert json.loads(sent[3])["count"] == 5
        await box.stop()

    asyncio.run(run())


@pytest.mark.django_db
def test_a_block_committed_while_a_socket_joins_is_not_missed(
    django_capture_on_commit_callbacks: Any,
) -> None:
    """The race the room had: alice's socket reads her blocks (none), carol blocks alice
    and the room re-reads carol for another viewer's window before alice's socket joins;
    the room then holds carol's new token and would never read her again for alice.
    `Room.admit` (after the join) sees alice's token moved since her connect read."""
    alice, carol, bob = UserFactory(), UserFactory(), UserFactory()
    room = Room(1, layer=None)
    watcher = Member(bob.pk)
    room.members = {"w": watcher}  # type: ignore[dict-item]
    room.apply_blocks(*_read_blocks_sync([carol.pk], dict(room.block_versions)))

    seen, hidden = own_blocks(alice.pk)  # alice's connect: her token, then her blocks
    assert hidden == set()
    assert seen is not None
    with django_capture_on_commit_callbacks(execute=True):  # the token bump after commit
        block_create(blocker=carol, blocked=alice)
    room.apply_blocks(*_read_blocks_sync([carol.pk], dict(room.block_versions)))
    late = Member(alice.pk, hidden)
    room.members["a"] = late  # type: ignore[assignment]
    # without `admit`, the room would not read carol again: alice would see her line
    assert _read_blocks_sync([carol.pk], dict(room.block_versions))[1] == {}

    asyncio.run(room.admit(late, seen))  # type: ignore[arg-type]
    room.apply_blocks(*_read_blocks_sync([carol.pk], dict(room.block_versions)))
    room.dispatch(_message(1, carol.pk))
    room.deliver(room.pending)
    assert _seen(late) == []
    assert _seen(watcher) == ["1"]

    # a join with nothing changed since the connect keeps what the room knows
    seen, _ = own_blocks(bob.pk)
    kept = dict(room.block_versions)
    asyncio.run(room.admit(watcher, seen))  # type: ignore[arg-type]
    assert room.block_versions == kept
