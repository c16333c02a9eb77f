"""Air time for Bumble's virtual controllers, which otherwise move any amount of data at
once: ``pace(controller, pdus_per_s)`` lets the packets its host sends leave one after
another at a radio's rate (a 7.5 ms connection interval carrying about 7 packets is
about 1 000 packets a second). What the radio has not sent yet waits in the host's
transmit queue, as it does on a real device; that queue is what a flood of
write-triggered notifications fills (docs/link.md, "Flow control")."""

from __future__ import annotations

import asyncio
import collections
from typing import Any

TICK_S = 0.005


def pace(controller: Any, pdus_per_s: float) -> None:
    """From now on, ``controller`` sends its host's ACL packets at ``pdus_per_s``."""
    send = controller.on_hci_acl_data_packet
    waiting: collections.deque[Any] = collections.deque()
    per_tick = max(1, round(pdus_per_s * TICK_S))
    timer: list[asyncio.TimerHandle | None] = [None]

    def tick() -> None:
        timer[0] = None
        for _ in range(min(per_tick, len(waiting))):
            send(waiting.popleft())
        if waiting:
            timer[0] = asyncio.get_running_loop().call_later(TICK_S, tick)

    def on_acl(packet: Any) -> None:
        waiting.append(packet)
        if timer[0] is None:
            timer[0] = asyncio.get_running_loop().call_later(TICK_S, tick)

    controller.on_hci_acl_data_packet = on_acl
