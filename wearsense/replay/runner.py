"""Runs recordings through the device core and scores the events.

Each recording gets a fresh device (a fall trial must not inherit the state of the trial
before it), fed in chunks of ``chunk_s`` seconds of signal at the sensor's own rate,
paced to ``speed`` times real time when one is given. Events are drained after every
chunk and timed against the device clock at the start of the recording.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from wearsense.protocol.events import Event
from wearsense.replay import scoring
from wearsense.replay.scoring import TimedEvent
from wearsense.replay.sources import Recording
from wearsense.store import Store


class ReplayError(Exception):
    """The replay cannot run (device core missing, bad option); the message says why."""


class DeviceSession(Protocol):
    """A running device core as the replay needs it (see wearsense.replay.device)."""

    def now_s(self) -> int: ...

    def feed(self, kind: str, samples: np.ndarray, fs: float) -> None: ...

    def drain(self) -> list[Event]: ...

    def calibrate_posture(self) -> None: ...


SessionFactory = Callable[[Recording], DeviceSession]


@dataclasses.dataclass
class RecordingResult:
    recording: Recording
    events: list[TimedEvent]
    wall_s: float


def replay_recording(
    rec: Recording,
    open_session: SessionFactory,
    *,
    chunk_s: float = 2.0,
    speed: float | None = None,
    hold_s: float = 0.0,
    on_progress: Callable[[float], None] | None = None,
    calibrate_posture: bool = False,
) -> RecordingResult:
    """Feeds one recording; ``hold_s`` seconds of its last sample are appended (IMU
    trials end soon after the fall, before a stillness rule could complete). With
    ``calibrate_posture`` the companion's posture calibration is sent when the recording's
    first standing segment begins (the wearer was asked to stand; docs/imu-front-end.md)."""
    if chunk_s <= 0 or (speed is not None and speed <= 0) or hold_s < 0:
        raise ReplayError("chunk, speed and hold must be positive")
    session = open_session(rec)
    calibrate_at = posture_calibration_sample(rec) if calibrate_posture else None
    t0 = session.now_s()
    signal = rec.signal
    if hold_s > 0:
        tail = np.repeat(signal[-1:], int(round(hold_s * rec.fs)), axis=0)
        signal = np.concatenate([signal, tail])
    step = max(1, int(round(chunk_s * rec.fs)))
    started = time.perf_counter()
    events: list[TimedEvent] = []
    for begin in range(0, len(signal), step):
        chunk = signal[begin : begin + step]
        if calibrate_at is not None and begin <= calibrate_at < begin + len(chunk):
            if calibrate_at > begin:
                session.feed(rec.kind, chunk[: calibrate_at - begin], rec.fs)
            session.calibrate_posture()
            chunk = chunk[calibrate_at - begin :]
        session.feed(rec.kind, chunk, rec.fs)
        events += [TimedEvent(float(e.time_s - t0), e) for e in session.drain()]
        if on_progress is not None:
            on_progress(len(chunk) / rec.fs)
        if speed is not None:
            due = (begin + len(chunk)) / rec.fs / speed
            lag = due - (time.perf_counter() - started)
            if lag > 0:
                time.sleep(lag)
    events += [TimedEvent(float(e.time_s - t0), e) for e in session.drain()]
    return RecordingResult(rec, events, time.perf_counter() - started)


STAND = 6  # ActivityClass.STAND


def posture_calibration_sample(rec: Recording) -> int | None:
    """The sample at which the recording's first standing segment begins (None when it has
    none, or it is not an IMU recording)."""
    if rec.kind != "imu":
        return None
    starts = [start for cls, start, _ in rec.annotations.get("segments", []) if cls == STAND]
    return int(round(min(starts) * rec.fs)) if starts else None


def event_row(rec: Recording, item: TimedEvent) -> dict[str, Any]:
    ev = item.event
    fields = {
        f.name: getattr(ev, f.name)
        for f in dataclasses.fields(ev)
        if f.name not in ("seq", "time_s", "model_version")
    }
    return {
        "dataset": rec.dataset,
        "recording": rec.name,
        "subject": rec.subject,
        "t_s": round(item.t_s, 3),
        "type": ev.NAME,
        "seq": ev.seq,
        "time_s": ev.time_s,
        "model_version": ev.model_version,
        **{k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()},
    }


class Scorer:
    """Collects per-recording scores and summarises them per dataset."""

    def __init__(
        self,
        *,
        fall_before_s: float = 2.0,
        fall_after_s: float = 15.0,
        grace_s: float = 5.0,
        min_episode_s: float = 30.0,
    ) -> None:
        self.fall_before_s = fall_before_s
        self.fall_after_s = fall_after_s
        self.grace_s = grace_s
        self.min_episode_s = min_episode_s
        self.af: dict[str, dict[str, Any]] = {}
        self.falls: dict[str, list[dict[str, Any]]] = {}
        self.activity: dict[str, list[dict[int, list[float]]]] = {}
        self.activity_grace: dict[str, list[dict[int, list[float]]]] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.seconds: dict[str, float] = {}

    def add(self, result: RecordingResult) -> dict[str, Any]:
        rec, events = result.recording, result.events
        counts = self.counts.setdefault(rec.dataset, {})
        for item in events:
            counts[item.event.NAME] = counts.get(item.event.NAME, 0) + 1
        self.seconds[rec.dataset] = self.seconds.get(rec.dataset, 0.0) + rec.duration_s
        if rec.dataset == "mitdb":
            row = scoring.score_af(
                events,
                rec.annotations["rhythms"],
                rec.duration_s,
                min_episode_s=self.min_episode_s,
                excluded=rec.annotations["excluded"],
            )
            self.af[rec.name] = row
            return row
        if rec.dataset in ("sisfall", "umafall"):
            row = scoring.score_fall_trial(
                events,
                is_fall=rec.annotations["is_fall"],
                impact_s=rec.annotations.get("impact_s"),
                before_s=self.fall_before_s,
                after_s=self.fall_after_s,
            )
            row.update(
                trial=rec.name, is_fall=rec.annotations["is_fall"], duration_s=rec.duration_s
            )
            self.falls.setdefault(rec.dataset, []).append(row)
            return row
        segments = rec.annotations["segments"]
        table = scoring.score_activity(events, segments)
        self.activity.setdefault(rec.dataset, []).append(table)
        graced = scoring.score_activity(events, segments, grace_s=self.grace_s)
        self.activity_grace.setdefault(rec.dataset, []).append(graced)
        return {"agreement": scoring.summarize_activity([table])["agreement"]}

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.af:
            out["mitdb"] = {**scoring.summarize_af(self.af), "per_record": self.af}
        for name, trials in self.falls.items():
            out[name] = {
                **scoring.summarize_falls(trials),
                "trials": trials,
                "window_s": [-self.fall_before_s, self.fall_after_s],
            }
        for name, tables in self.activity.items():
            strict = scoring.summarize_activity(tables)
            graced = scoring.summarize_activity(self.activity_grace[name])
            out[name] = {
                **strict,
                "recordings": len(tables),
                f"agreement_after_{self.grace_s:g}s_grace": graced["agreement"],
                f"balanced_agreement_after_{self.grace_s:g}s_grace": graced["balanced_agreement"],
            }
        for name, counts in self.counts.items():
            hours = self.seconds[name] / 3600.0
            out.setdefault(name, {})["events"] = dict(sorted(counts.items()))
            out[name]["signal_hours"] = round(hours, 3)
            out[name]["events_per_hour"] = (
                {k: round(v / hours, 3) for k, v in sorted(counts.items())} if hours else {}
            )
        return out


def run(
    recordings: Iterable[Recording],
    open_session: SessionFactory,
    *,
    scorer: Scorer,
    jsonl: IO[str] | None = None,
    sink: Callable[[RecordingResult], None] | None = None,
    chunk_s: float = 2.0,
    speed: float | None = None,
    imu_hold_s: float = 0.0,
    on_progress: Callable[[float], None] | None = None,
    calibrate_posture: bool = False,
) -> dict[str, Any]:
    """Replays every recording, writes one JSON line per event, scores them."""
    signal_s = wall_s = 0.0
    n_events = 0
    for rec in recordings:
        result = replay_recording(
            rec,
            open_session,
            chunk_s=chunk_s,
            speed=speed,
            hold_s=imu_hold_s if rec.kind == "imu" else 0.0,
            on_progress=on_progress,
            calibrate_posture=calibrate_posture,
        )
        scorer.add(result)
        signal_s += rec.duration_s
        wall_s += result.wall_s
        n_events += len(result.events)
        if jsonl is not None:
            for item in result.events:
                jsonl.write(json.dumps(event_row(rec, item)) + "\n")
        if sink is not None:
            sink(result)
    summary = scorer.summary()
    summary["replay"] = {
        "signal_hours": round(signal_s / 3600.0, 3),
        "wall_s": round(wall_s, 2),
        "speed_x_realtime": round(signal_s / wall_s, 1) if wall_s else None,
        "events": n_events,
        "events_per_wall_s": round(n_events / wall_s, 1) if wall_s else None,
    }
    return summary


def store_sink(store: Store, start_utc: float) -> Callable[[RecordingResult], None]:
    """A ``sink`` for :func:`run` that ingests each recording's events into ``store`` under
    a serial of its own (``RP-<dataset>-<subject>``), one epoch per recording, each
    recording's device time 0 placed at ``start_utc``."""
    epochs: dict[str, int] = {}

    def sink(result: RecordingResult) -> None:
        rec = result.recording
        serial = f"RP-{rec.dataset[:4]}-{rec.subject}"[:16]
        epochs[serial] = epochs.get(serial, 0) + 1
        epoch = epochs[serial]
        # every replayed recording starts at start_utc: its device time 0 maps there
        first = min((e.event.time_s - e.t_s for e in result.events), default=0.0)
        store.set_time_offset(serial, epoch, int(start_utc - first))
        store.ingest(serial, epoch, [e.event for e in result.events])

    return sink


def write_json(path: Path, summary: dict[str, Any]) -> None:
    path.write_text(json.dumps(summary, indent=2, sort_keys=True, default=str) + "\n")
