"""What the link tests share: run a coroutine with a bound, wait for a condition, and a
heart-rate summary to inject."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from wearsense.protocol import HrSummary

T = TypeVar("T")


def run(coro_fn: Callable[[], Awaitable[T]], timeout: float = 60.0) -> T:
    """``asyncio.run`` of ``coro_fn()``, failing after ``timeout`` seconds."""

    async def bounded() -> T:
        return await asyncio.wait_for(coro_fn(), timeout)

    return asyncio.run(bounded())


def hr(i: int) -> HrSummary:
    lo = 40 + i % 50
    return HrSummary(
        seq=0, time_s=0, model_version=0, interval_s=60, min_bpm=lo, mean_bpm=lo + 5, max_bpm=lo + 9
    )


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
