"""Per-chat fan-out (chats/hub.py): every subscriber gets every frame; a full queue drops only
its own subscriber, flagged so its socket catches up from the store."""

from __future__ import annotations

import asyncio

import pytest

from mozaiks_runtime.chats.events import Frame
from mozaiks_runtime.chats.hub import Hub
from mozaiks_runtime.refs import ChatRef

pytestmark = pytest.mark.unit
KEY = ChatRef("app", "c1")
OTHER = ChatRef("app", "c2")


def _frame(seq: int) -> Frame:
    return Frame("chat.text", seq, f'{{"seq": {seq}}}')


def test_fan_out_to_every_subscriber_of_the_chat_only() -> None:
    hub = Hub()
    with hub.subscribe(KEY) as a, hub.subscribe(KEY) as b, hub.subscribe(OTHER) as other:
        hub.publish(KEY, _frame(1))
        hub.publish(KEY, _frame(2))
        assert [a.get_nowait().seq for _ in range(2)] == [1, 2]
        assert [b.get_nowait().seq for _ in range(2)] == [1, 2]
        assert other.empty()
        assert hub.subscriber_count(KEY) == 2
    assert hub.subscriber_count(KEY) == 0


def test_a_slow_subscriber_is_dropped_not_waited_for() -> None:
    hub = Hub(queue_size=2)
    with hub.subscribe(KEY) as slow, hub.subscribe(KEY) as fast:
        for seq in (1, 2, 3):
            hub.publish(KEY, _frame(seq))
            fast.get_nowait()
        assert slow.overflowed and not fast.overflowed
        assert slow.qsize() == 2
        assert hub.subscriber_count(KEY) == 1
        hub.publish(KEY, _frame(4))
        assert slow.qsize() == 2  # no longer fed
        assert fast.get_nowait().seq == 4
    assert hub.subscriber_count(KEY) == 0


def test_publishing_to_a_chat_nobody_watches() -> None:
    Hub().publish(KEY, _frame(1))


async def test_get_waits_for_the_next_frame() -> None:
    hub = Hub()
    with hub.subscribe(KEY) as sub:
        waiting = asyncio.create_task(sub.get())
        await asyncio.sleep(0)
        assert not waiting.done()
        hub.publish(KEY, _frame(1))
        assert (await waiting).seq == 1
        with pytest.raises(IndexError):
            sub.get_nowait()
