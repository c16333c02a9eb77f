"""The replay runner's plumbing (timing of events, hold, JSON lines, scoring hand-off)
with a stand-in session, and the CLI's errors for missing data."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from wearsense.cli import main
from wearsense.protocol.events import Event, Fall
from wearsense.replay.runner import ReplayError, Scorer, replay_recording, run
from wearsense.replay.sources import Recording


class ThresholdSession:
    """Emits one FALL per sample above 2 g, stamped with the device clock (starting at
    1000 s) at that sample; counts what it was fed."""

    def __init__(self) -> None:
        self.samples = 0
        self.pending: list[Event] = []

    def now_s(self) -> int:
        return 1000

    def feed(self, kind: str, samples: np.ndarray, fs: float) -> None:
        assert kind == "imu" and samples.shape[1] == 6
        for i, row in enumerate(samples):
            if np.linalg.norm(row[:3]) > 2.0:
                t = 1000 + int((self.samples + i) / fs)
                self.pending.append(
                    Fall(
                        seq=1,
                        time_s=t,
                        model_version=1,
                        impact_mg=3000,
                        confidence=90,
                        stillness_s=3,
                    )
                )
        self.samples += len(samples)

    def drain(self) -> list[Event]:
        out, self.pending = self.pending, []
        return out


def _trial(name: str, impact_at: int | None, n: int = 500, is_fall: bool = True) -> Recording:
    x = np.zeros((n, 6), dtype=np.float32)
    x[:, 2] = 1.0
    if impact_at is not None:
        x[impact_at, 0] = 3.0
    annotations = {"is_fall": is_fall, "segments": []}
    if is_fall and impact_at is not None:
        annotations["impact_s"] = impact_at / 50.0
    return Recording("sisfall", name, "SA07", "imu", 50.0, x, annotations)


def test_events_are_timed_from_the_recording_start_and_hold_is_fed() -> None:
    sessions: list[ThresholdSession] = []

    def factory(rec: Recording) -> ThresholdSession:
        sessions.append(ThresholdSession())
        return sessions[-1]

    result = replay_recording(_trial("F01", 260), factory, chunk_s=1.0, hold_s=2.0)
    assert [e.t_s for e in result.events] == [5.0]
    assert sessions[0].samples == 500 + 100
    with pytest.raises(ReplayError):
        replay_recording(_trial("F01", 260), factory, chunk_s=0)


class CalibratedSession(ThresholdSession):
    """Records at which fed sample the posture calibration came."""

    def __init__(self) -> None:
        super().__init__()
        self.calibrated_at: list[int] = []

    def calibrate_posture(self) -> None:
        self.calibrated_at.append(self.samples)


def test_the_posture_calibration_comes_when_the_first_standing_begins() -> None:
    rec = _trial("exp99_user99", None, n=600, is_fall=False)
    rec.annotations["segments"] = [(7, 0.0, 3.0), (6, 4.1, 8.0), (5, 8.0, 10.0), (6, 10.0, 12.0)]
    session = CalibratedSession()
    replay_recording(rec, lambda _r: session, chunk_s=1.0, calibrate_posture=True)
    assert session.calibrated_at == [round(4.1 * 50)]  # once, mid-chunk, at 4.1 s
    assert session.samples == 600  # every sample fed once, split around the call
    plain = CalibratedSession()
    replay_recording(rec, lambda _r: plain, chunk_s=1.0)
    assert plain.calibrated_at == []
    rec.annotations["segments"] = [(5, 0.0, 12.0)]  # no standing: nothing to calibrate on
    sitting = CalibratedSession()
    replay_recording(rec, lambda _r: sitting, chunk_s=1.0, calibrate_posture=True)
    assert sitting.calibrated_at == []


def test_run_scores_writes_lines_and_counts() -> None:
    trials = [
        _trial("F01_SA07_R01", 250),
        _trial("D01_SA07_R01", 100, is_fall=False),
        _trial("D02", None, is_fall=False),
    ]
    out = io.StringIO()
    summary = run(trials, lambda rec: ThresholdSession(), scorer=Scorer(), jsonl=out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["recording"], r["type"], r["t_s"]) for r in lines] == [
        ("F01_SA07_R01", "fall", 5.0),
        ("D01_SA07_R01", "fall", 2.0),
    ]
    falls = summary["sisfall"]
    assert falls["falls_detected"] == 1 and falls["fall_trials"] == 1
    assert falls["adl_false_alarms"] == 1 and falls["adl_trials"] == 2
    assert falls["false_alarms_per_hour"] == pytest.approx(1 / (20 / 3600), rel=1e-3)
    assert summary["replay"]["events"] == 2


def test_cli_names_a_missing_data_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["replay", "--data-dir", str(tmp_path / "nowhere"), "--quiet"])
    assert code == 1
    assert "data root is not a folder" in capsys.readouterr().err
    (tmp_path / "data").mkdir()
    code = main(["replay", "--data-dir", str(tmp_path / "data"), "--dataset", "mitdb", "--quiet"])
    assert code == 1
    assert "dataset folder 'mitdb' is missing" in capsys.readouterr().err
