"""Serving an emulated wearable until told to stop (``wearsense emulate``): the replay is
fed at ``speed`` times real time, and the device's flash, model store and settings are
saved every second and once more at the end, before the wearable closes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from wearsense.emulator.replay import Player
from wearsense.emulator.updatable_device import save
from wearsense.emulator.wearable import EmulatedWearable
from wearsense.protocol import Event

SAVE_EVERY_S = 1.0
TICK_S = 0.1


async def serve(
    wearable: EmulatedWearable,
    player: Player | None,
    *,
    speed: float,
    stem: Path,
    stop: asyncio.Event,
    duration_s: float = 0.0,
    on_event: Callable[[Event], None] | None = None,
) -> None:
    """Runs until ``stop`` is set (or ``duration_s`` has passed, 0: no limit); each new
    detector event is handed to ``on_event`` when given. Saves under ``stem``
    (``updatable_device.state_paths``) and closes the wearable on the way out."""
    loop = asyncio.get_running_loop()
    started = last_save = loop.time()
    try:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_S)
            now = loop.time()
            if duration_s and now - started >= duration_s:
                break
            if player is not None and not player.done:
                due = int((now - started) * speed) - player.fed_s
                if due > 0:
                    device: Any = wearable.core
                    before = device.info().last_seq
                    wearable.sense(player, due)
                    if on_event is not None:
                        for event in device.pending():
                            if event.seq > before:
                                on_event(event)
            if now - last_save >= SAVE_EVERY_S:
                save(wearable.core, stem)
                last_save = now
    finally:
        save(wearable.core, stem)
        await wearable.close()
