"""The update service under ASan/UBSan (make test's sanitized pass): random and near-valid
writes to the model-transfer characteristic and UPDATE_* commands, with resets in between,
and a bounded power-cut campaign. Whatever arrives, every status is a documented one and
the device runs exactly the old or exactly the new package."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from update_helpers import versioned

from wearsense.firmware.updatable import UpdatableDevice
from wearsense.protocol import Chunk, Opcode, Status
from wearsense.testing.update_powercut import UpdatePowerCuts

pytestmark = pytest.mark.sanitized

OLD = versioned(1)  # the shipped package as version 1, then as 2
NEW = versioned(2)
CHUNK_STATUSES = {Status.OK, Status.CRC, Status.LENGTH, Status.STATE, Status.RANGE}
COMMAND_STATUSES = {
    Status.OK, Status.LENGTH, Status.TYPE, Status.RANGE, Status.STATE, Status.NOSPACE,
    Status.FLASH, *(Status(c) for c in range(0x20, 0x2B)),
}  # fmt: skip


def _begin(version: int, size: int, digest: bytes) -> bytes:
    # Packed by hand: the host's encoder refuses the out-of-range values sent here.
    return struct.pack("<BBBHI32s", Opcode.UPDATE_BEGIN, 3, 0, version, size, digest)


actions = st.one_of(
    st.tuples(st.just("raw"), st.binary(min_size=0, max_size=520)),
    st.tuples(st.just("chunk"), st.integers(0, len(NEW) + 300), st.integers(1, 238)),
    st.tuples(st.just("garbled"), st.integers(0, len(NEW)), st.binary(min_size=1, max_size=60)),
    st.tuples(st.just("begin"), st.integers(0, 4), st.integers(0, 300_000), st.booleans()),
    st.tuples(st.just("task"), st.sampled_from([17, 18, 19]), st.integers(0, 3)),
    st.tuples(st.just("reset")),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(actions, min_size=1, max_size=60))
def test_random_update_writes_get_documented_statuses(asan_core, stream) -> None:
    dev = UpdatableDevice("WS-FUZZ", sanitized=True)
    assert dev.provision(OLD) == Status.OK
    digest = hashlib.sha256(NEW).digest()
    for action in stream:
        kind = action[0]
        if kind == "raw":
            status, note = dev.write_transfer(action[1])
            assert status in CHUNK_STATUSES
            assert note is None or len(note) == 5
        elif kind == "chunk":
            offset, size = action[1], action[2]
            data = NEW[offset : offset + size] or b"\x00"
            status, _ = dev.write_transfer(Chunk(offset, data).encode())
            assert status in CHUNK_STATUSES
        elif kind == "garbled":
            frame = bytearray(Chunk(action[1], action[2]).encode())
            frame[-1] ^= 0x5A
            assert dev.write_transfer(bytes(frame))[0] in CHUNK_STATUSES
        elif kind == "begin":
            version, size, real = action[1], action[2], action[3]
            frame = _begin(version, len(NEW) if real else size, digest)
            status, _ = dev.write_command(frame)
            assert status in COMMAND_STATUSES
        elif kind == "task":
            status, _ = dev.write_command(bytes([action[1], 4, action[2]]))
            assert status in COMMAND_STATUSES
        else:
            dev = dev.reset()
        running = dev.active_model(0)
        assert running is not None and running.package in (OLD, NEW)
        assert dev.info().model_versions[0] == running.version
    assert dev.store_nor_violations == 0
    after = dev.reset()
    running = after.active_model(0)
    assert running is not None and running.package in (OLD, NEW)


def test_update_power_cuts_under_the_sanitizers(asan_core) -> None:
    result = UpdatePowerCuts(OLD, NEW, task=0, sanitized=True).run(chunks=range(0, 200, 23))
    assert result.failures == []
    assert result.no_valid_model == 0 and result.stuck == 0 and result.trials >= 30
