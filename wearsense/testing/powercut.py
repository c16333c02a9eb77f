"""Power-cut campaign for the device core's event queue.

A long random workload (events of every type, acknowledgements, notifications, time
syncs, resets, the odd factory reset) runs on a small simulated flash so that pages wrap
and the queue fills again and again. Before each step that touches flash, the step is
run once on a clean copy (the reference) to count its flash operations; then, on
another copy, the power is cut at a random one of them, torn at a random byte and bit.
The torn flash is mounted by a fresh core and judged against the reference:

* lost — an event unacknowledged both before and after the step (so no clean run of the
  step could remove it) that the recovered core no longer holds;
* corrupt accepted — an event the recovered core holds whose bytes match neither the
  state before nor after the step (or that does not decode);
* seq repeated — the recovered core would hand out a sequence number already used in the
  epoch, or a notification carried a (epoch, seq) seen before with other bytes.

The main line then continues from the recovered core (so recovery of recovery is
exercised) or from the reference, at random.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from typing import Any

from tqdm import tqdm

from wearsense import protocol
from wearsense.firmware.device import DeviceCore, DeviceError
from wearsense.protocol import EventKind, Opcode

CAMPAIGN_PAGE_SIZE = 512
CAMPAIGN_PAGE_COUNT = 6
SERIAL = "WS-CUT-0001"


@dataclasses.dataclass
class CampaignResult:
    trials: int = 0
    lost: int = 0
    corrupt_accepted: int = 0
    seq_repeated: int = 0
    nor_violations: int = 0
    steps: int = 0
    flash_ops: int = 0
    gaps_seen: int = 0
    compaction_trials: int = 0  # cuts injected into a step that dropped events (GAP)
    stuck: int = 0  # recovered cores that refused a new event
    epochs_seen: int = 1
    failures: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["failures"] = self.failures[:5]
        return out


def random_event(rng: random.Random, time_s: int) -> protocol.Event:
    """One event of a random type with valid fields (seq is assigned by the core)."""
    head = {"seq": 0, "time_s": time_s, "model_version": rng.randrange(4)}
    kind = rng.choices(
        [
            "hr",
            "act_sum",
            "rhythm",
            "act_chg",
            "quality",
            EventKind.AF_START,
            EventKind.AF_END,
            EventKind.FALL,
            "fall_cancel",
            "ecg",
        ],
        weights=[25, 20, 15, 15, 6, 4, 4, 3, 2, 6],
    )[0]
    if kind == "hr":
        low = rng.randrange(40, 80)
        return protocol.HrSummary(
            **head, interval_s=900, min_bpm=low, mean_bpm=low + 10, max_bpm=low + 30
        )
    if kind == "act_sum":
        minutes = [0] * 8
        for _ in range(60):
            minutes[rng.randrange(8)] += 1
        return protocol.ActivitySummary(**head, minutes=tuple(minutes))
    if kind == "rhythm":
        analysable = rng.randrange(0, 901)
        return protocol.RhythmSummary(
            **head, interval_s=900, analysable_s=analysable, af_s=rng.randrange(0, analysable + 1)
        )
    if kind == "act_chg":
        a, b = rng.sample(range(8), 2)
        return protocol.ActivityChange(**head, from_class=a, to_class=b, confidence=80)
    if kind == "quality":
        return protocol.SignalQuality(
            **head,
            source=rng.randrange(2),
            flags=rng.randrange(1, 16),
            duration_s=rng.randrange(1, 600),
        )
    if kind == EventKind.AF_START:
        return protocol.AfStart(
            **head, hr_bpm=rng.randrange(60, 180), confidence=90, onset_lag_s=rng.randrange(0, 120)
        )
    if kind == EventKind.AF_END:
        return protocol.AfEnd(**head, duration_s=rng.randrange(30, 90000), mean_hr_bpm=110)
    if kind == EventKind.FALL:
        return protocol.Fall(
            **head,
            impact_mg=rng.randrange(2000, 16000),
            confidence=95,
            stillness_s=rng.randrange(0, 60),
        )
    if kind == "fall_cancel":
        return protocol.FallCancelled(**head, fall_seq=rng.randrange(1, 1000), delay_s=20)
    return protocol.EcgRecording(
        **head,
        rhythm_class=rng.randrange(4),
        confidence=70,
        hr_bpm=rng.choice([0, 72]),
        duration_s=30,
        quality=0,
    )


Step = Callable[[DeviceCore], None]


def _append(event: protocol.Event) -> Step:
    def run(dev: DeviceCore) -> None:
        packet = protocol.encode(event)
        seq = dev.ffi.new("uint32_t *")
        dev.lib.ws_host_inject_event(dev._dev, packet, len(packet), seq)

    return run


def _ack(fraction: float) -> Step:
    def run(dev: DeviceCore) -> None:
        info = dev.info()
        target = info.acked_seq + int((info.last_seq - info.acked_seq) * fraction)
        dev.ack(target)

    return run


def _command(frame: bytes) -> Step:
    def run(dev: DeviceCore) -> None:
        dev.write_command(frame)

    return run


def _reboot(dev: DeviceCore) -> None:
    dev.reboot()


def _pending_map(dev: DeviceCore) -> dict[int, bytes]:
    return {int.from_bytes(p[1:4], "little"): p for p in dev.pending_packets()}


def _draw_step(rng: random.Random, now_s: int, hungry: bool, full: bool) -> tuple[str, Step]:
    """One workload step. ``hungry``: the host is away (acknowledgements are rare);
    ``full``: the campaign keeps the queue at its limit (compaction on most appends)."""
    ack_weight = 2 if full else (5 if hungry else 35)
    kind = rng.choices(
        ["append", "ack", "time_sync", "reset", "factory_reset"],
        weights=[85 if hungry or full else 55, ack_weight, 5, 4.5, 0.5],
    )[0]
    if kind == "append":
        return kind, _append(random_event(rng, now_s))
    if kind == "ack":
        return kind, _ack(rng.choice([0.1, 0.25, 0.5] if full else [0.25, 0.5, 1.0]))
    if kind == "time_sync":
        utc = 1_700_000_000 + rng.randrange(10**6)
        frame = protocol.Command(Opcode.TIME_SYNC, rng.randrange(256), {"utc_s": utc}).encode()
        return kind, _command(frame)
    if kind == "reset":
        return kind, _reboot
    magic = protocol.frames.FACTORY_RESET_MAGIC
    frame = protocol.Command(Opcode.FACTORY_RESET, 7, {"magic": magic}).encode()
    return kind, _command(frame)


def run_campaign(
    trials: int,
    seed: int = 1,
    *,
    progress: bool = False,
    sanitized: bool | None = None,
    page_size: int = CAMPAIGN_PAGE_SIZE,
    page_count: int = CAMPAIGN_PAGE_COUNT,
    full: bool = False,
) -> CampaignResult:
    """Runs the workload until ``trials`` power cuts were injected and judged;
    ``full=True`` keeps the queue at its limit so most cuts hit a compaction."""
    rng = random.Random(seed)
    result = CampaignResult()
    main = DeviceCore(SERIAL, page_size=page_size, page_count=page_count, sanitized=sanitized)
    seen: dict[tuple[int, int], bytes] = {}
    epochs = {main.info().epoch}
    bar = tqdm(total=trials, desc="power cuts", unit="cut", disable=not progress)
    hungry = False
    while result.trials < trials:
        result.steps += 1
        main.advance(rng.randrange(1, 120))
        if rng.random() < 0.02:
            hungry = not hungry  # phases where the host is away and the queue fills
        name, step = _draw_step(rng, main.now_s, hungry, full)
        _pull(main, rng, seen, result)
        before = _pending_map(main)
        before_info = main.info()
        ref = main.clone()
        ops0 = ref.flash_ops
        step(ref)
        ops = ref.flash_ops - ops0
        result.flash_ops += ops
        if ops == 0:
            main = ref
            continue
        op = rng.randrange(ops)
        cut = main.clone()
        cut.arm_power_cut(op, rng.randrange(1 << 16), rng.randrange(256))
        step(cut)
        if not cut.power_was_cut:
            result.failures.append(f"step {result.steps} ({name}): the armed cut never happened")
        image = cut.flash_image()
        inspected = _mount(image, main, sanitized)
        after = _pending_map(ref)
        if any(p[0] & 0x1F == protocol.EventType.GAP for s, p in after.items() if s not in before):
            result.compaction_trials += 1
        # Clean states around the torn operation: not started, and completed.
        states = [
            (before_info.epoch, before),
            (ref.info().epoch, after),
            _clean_state(main, step, op, sanitized),
            _clean_state(main, step, op + 1, sanitized),
        ]
        _judge(result, name, states, before_info.last_seq, inspected)
        _check_alive(result, name, inspected)
        result.nor_violations += cut.nor_violations + ref.nor_violations + inspected.nor_violations
        result.trials += 1
        bar.update(1)
        if rng.random() < 0.5:
            main = DeviceCore(
                SERIAL,
                image,
                page_size=page_size,
                page_count=page_count,
                now_s=main.now_s,
                sanitized=sanitized,
            )
        else:
            main = ref
        epochs.add(main.info().epoch)
    bar.close()
    result.epochs_seen = len(epochs)
    return result


def _pull(
    main: DeviceCore, rng: random.Random, seen: dict[tuple[int, int], bytes], result: CampaignResult
) -> None:
    """The host takes a few notifications; each (epoch, seq) must always carry one content."""
    if rng.random() < 0.2:
        main.connect()
    epoch = main.info().epoch
    for packet in main.notifications(limit=rng.randrange(0, 6)):
        seq = int.from_bytes(packet[1:4], "little")
        known = seen.setdefault((epoch, seq), packet)
        if known != packet:
            result.seq_repeated += 1
            result.failures.append(f"epoch {epoch} seq {seq} notified with two contents")
        if packet[0] & 0x1F == protocol.EventType.GAP:
            result.gaps_seen += 1


def _mount(image: bytes, like: DeviceCore, sanitized: bool | None) -> DeviceCore:
    """Recovery only (no boot record, no STATUS events): what the torn flash holds."""
    return DeviceCore(
        SERIAL,
        image,
        page_size=like.page_size,
        page_count=like.page_count,
        now_s=like.now_s,
        sanitized=sanitized,
        announce=False,
    )


def _clean_state(
    main: DeviceCore, step: Step, ops_done: int, sanitized: bool | None
) -> tuple[int, dict[int, bytes]]:
    """(epoch, held events) when the step stops cleanly after ``ops_done`` operations."""
    copy = main.clone()
    copy.arm_power_cut(ops_done, 0, 0)  # a cut that changes nothing: the op never starts
    step(copy)
    mounted = _mount(copy.flash_image(), main, sanitized)
    return mounted.info().epoch, _pending_map(mounted)


def _check_alive(result: CampaignResult, name: str, inspected: DeviceCore) -> None:
    """A recovered core must still take an AF event and hold it."""
    probe = inspected.clone()
    event = protocol.AfStart(0, probe.now_s, 1, hr_bpm=120, confidence=90, onset_lag_s=10)
    try:
        seq = probe.inject(event)
    except DeviceError as exc:
        result.stuck += 1
        result.failures.append(f"{name}: recovered core refused an event ({exc})")
        return
    if seq not in _pending_map(probe):
        result.stuck += 1
        result.failures.append(f"{name}: recovered core lost the event it just took")


def _judge(
    result: CampaignResult,
    name: str,
    states: list[tuple[int, dict[int, bytes]]],
    last_seq: int,
    inspected: DeviceCore,
) -> None:
    """states: before and after the step, before and after the torn operation."""
    info = inspected.info()
    got = _pending_map(inspected)
    epochs = {epoch for epoch, _ in states}
    if info.epoch not in epochs:
        result.failures.append(f"{name}: recovered epoch {info.epoch}")
        result.seq_repeated += 1
    lost: set[int] = set()
    for (epoch_a, held_a), (epoch_b, held_b) in (states[0:2], states[2:4]):
        if epoch_a == epoch_b == info.epoch:
            lost |= {s for s, p in held_a.items() if held_b.get(s) == p and got.get(s) != p}
    result.lost += len(lost)
    result.failures += [f"{name}: lost seq {s}" for s in sorted(lost)]
    if info.epoch == states[0][0] and info.last_seq < last_seq:
        result.seq_repeated += 1
        result.failures.append(f"{name}: last seq went back {last_seq} -> {info.last_seq}")
    for seq, packet in got.items():
        ok = any(epoch == info.epoch and held.get(seq) == packet for epoch, held in states)
        try:
            protocol.decode(packet)
        except protocol.ProtocolError:
            ok = False
        if not ok:
            result.corrupt_accepted += 1
            result.failures.append(f"{name}: seq {seq} recovered as {packet.hex()}")
