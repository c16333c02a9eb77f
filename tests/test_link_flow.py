"""Flow control (docs/link.md): a flood of writes on any path (model-transfer chunks,
acknowledgements, commands; valid or bad; with or without response) does not starve the
Status read or the event stream. The device's radio is given air time
(``wearsense.testing.airtime``), so what the device queues to send really waits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from wearsense.emulator import flow
from wearsense.testing import flood

PROMPT_S = 0.5  # the flood's own writes are in; a Status read answers within this


@pytest.mark.parametrize("kind", flood.KINDS)
def test_a_write_flood_does_not_starve_the_status_read_or_the_events(
    tmp_path: Path, kind: str
) -> None:
    # Before flow control, 3 000 bad chunks queued 3 000 resume-offset notifications
    # ahead of the read's response (3.06 s at 1 000 packets/s); valid acknowledgements
    # and commands queued a status notification each (bad commands: 2.8 s).
    result = asyncio.run(asyncio.wait_for(flood.flood_then_read(tmp_path, kind), 90))
    assert result.read_s < PROMPT_S, result
    assert result.event_s < PROMPT_S, result
    if kind in ("acks", "commands"):
        assert result.busy_answered, result
        assert result.refused > flood.FLOOD // 2, result
    counts = result.notifications
    assert counts["transfer"] < flood.FLOOD // 10 and counts["status"] < flood.FLOOD // 10, result


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = flow.TokenBucket(3, 10.0, clock=lambda: now[0])
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] = 0.1
    assert bucket.take() and not bucket.take()
    now[0] = 10.0
    assert sum(bucket.take() for _ in range(10)) == 3
