"""IMU loaders: units, positions, labels, errors that name the file, subject splits."""

from __future__ import annotations

import json
import lzma
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from wearsense.datasets import DatasetError, data_root, imu
from wearsense.datasets.imu import Position, dsads, sisfall, ucihapt, umafall
from wearsense.protocol.events import ActivityClass, FallClass


def _real_root() -> Path | None:
    try:
        root = data_root()
    except DatasetError:
        return None
    return root if all((root / n).is_dir() for n in imu.DATASETS) else None


REAL = _real_root()
needs_data = pytest.mark.skipif(REAL is None, reason="IMU datasets not under the data root")


def _torso_root() -> Path | None:
    try:
        root = data_root()
    except DatasetError:
        return None
    return root if (root / "dsads-torso" / "data").is_dir() else None


TORSO = _torso_root()
needs_torso = pytest.mark.skipif(TORSO is None, reason="dsads-torso not under the data root")


def _xz(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with lzma.open(path, "wt") as handle:
        handle.write(text)
    return path


# ---------------------------------------------------------------- synthetic files


def test_sisfall_counts_become_g_and_deg_per_s(tmp_path: Path) -> None:
    rows = "".join(f" {8 * i},-256, 256, {i}, 0, -16384, 1024, 0, 0;\n" for i in range(10))
    path = _xz(tmp_path / "SisFall_dataset" / "SA01" / "F03_SA01_R02.txt.xz", rows)
    rec = sisfall.load_trial("SA01", path)
    assert rec.fall is FallClass.FALL and rec.position is Position.WAIST
    np.testing.assert_allclose(rec.acc_g[3], [8 * 3 / 256, -1.0, 1.0])
    np.testing.assert_allclose(rec.gyro_dps[5], [5 * 4000 / 65536, 0.0, -1000.0])
    assert rec.rate_hz == 200.0 and rec.n_samples == 10


def test_sisfall_subject_comes_from_the_folder(tmp_path: Path) -> None:
    _xz(tmp_path / "SisFall_dataset" / "SA15" / "D17_SE15_R01.txt.xz", "1,2,3,4,5,6,7,8,9;\n" * 3)
    (rec,) = sisfall.recordings(tmp_path)
    assert rec.subject == "SA15" and rec.fall is FallClass.ADL
    assert rec.activity is ActivityClass.UNKNOWN  # getting into a car is not a device class


def test_sisfall_walking_and_jogging_codes(tmp_path: Path) -> None:
    for code in ("D01", "D04"):
        _xz(
            tmp_path / "SisFall_dataset" / "SA01" / f"{code}_SA01_R01.txt.xz",
            "0,0,0,0,0,0,0,0,0;\n" * 4,
        )
    recs = {r.trial[:3]: r for r in sisfall.recordings(tmp_path)}
    assert recs["D01"].activity is ActivityClass.WALK
    assert recs["D04"].activity is ActivityClass.RUN


def test_corrupt_xz_is_named(tmp_path: Path) -> None:
    path = tmp_path / "SisFall_dataset" / "SA01" / "D01_SA01_R01.txt.xz"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xfd7zXZ\x00garbage")
    with pytest.raises(DatasetError) as err:
        sisfall.load_trial("SA01", path)
    assert err.value.path == path and "D01_SA01_R01" in str(err.value)


def test_ragged_rows_are_named(tmp_path: Path) -> None:
    path = _xz(
        tmp_path / "SisFall_dataset" / "SA01" / "D01_SA01_R01.txt.xz", "1,2,3,4,5,6,7,8,9;\n1,2;\n"
    )
    with pytest.raises(DatasetError, match="D01_SA01_R01"):
        sisfall.load_trial("SA01", path)


UMA_HEADER = """% Universidad de Malaga
% MAC Address; Sensor_ID; Position; Device Model
%AA:BB:CC:DD:EE:00; 0; RIGHTPOCKET; phone
%AA:BB:CC:DD:EE:01; 1; WRIST; SensorTag
%AA:BB:CC:DD:EE:02; 2; WAIST; SensorTag
% TimeStamp; Sample No; X-Axis; Y-Axis; Z-Axis; Sensor Type; Sensor ID;
"""


def _uma_rows(sensor: int, acc: float, n: int = 21, dt: float = 50.0) -> str:
    rows = []
    for i in range(n):
        rows.append(f"{i * dt:.0f};{i};{acc};0;0;0;{sensor}")
        rows.append(f"{i * dt:.0f};{i};0;{acc * 10};0;1;{sensor}")
    return "\n".join(rows) + "\n;;;;;;;\n   \n"


def test_umafall_position_comes_from_the_header(tmp_path: Path) -> None:
    name = "UMAFall_Subject_05_Fall_forwardFall_2_2017-06-13_20-05-40.csv.xz"
    text = UMA_HEADER + _uma_rows(1, 0.5) + _uma_rows(2, 2.0)
    path = _xz(tmp_path / "UMAFall_Dataset" / name, text)
    recs = {r.position: r for r in umafall.load_file(path)}
    assert set(recs) == {Position.WRIST, Position.WAIST}  # the phone sent nothing
    assert recs[Position.WRIST].acc_g[0, 0] == pytest.approx(0.5)
    assert recs[Position.WAIST].acc_g[0, 0] == pytest.approx(2.0)
    assert recs[Position.WAIST].gyro_dps[0, 1] == pytest.approx(20.0)
    assert all(r.fall is FallClass.FALL and r.subject == "05" for r in recs.values())
    # 21 samples 50 ms apart on a 20 Hz grid: 21 uniform samples
    assert recs[Position.WAIST].n_samples == 21 and recs[Position.WAIST].rate_hz == 20.0
    # swapping the ids in the header swaps the positions
    swapped = text.replace("; 1; WRIST", "; 9; WRIST").replace("; 2; WAIST", "; 1; WAIST")
    path2 = _xz(tmp_path / "other" / "UMAFall_Dataset" / name, swapped)
    (waist,) = umafall.load_file(path2)
    assert waist.position is Position.WAIST and waist.acc_g[0, 0] == pytest.approx(0.5)


def test_umafall_irregular_timestamps_are_interpolated(tmp_path: Path) -> None:
    name = "UMAFall_Subject_05_ADL_Walking_1_2017-06-13_20-05-40.csv.xz"
    times = [0, 40, 40, 110, 150, 200]
    rows = "".join(f"{t};{i};{t / 1000};0;0;0;2\n" for i, t in enumerate(times))
    (rec,) = umafall.load_file(_xz(tmp_path / name, UMA_HEADER + rows))
    np.testing.assert_allclose(rec.acc_g[:, 0], [0.0, 0.05, 0.1, 0.15, 0.2], atol=1e-6)
    assert rec.activity is ActivityClass.WALK and rec.gyro_dps is None


def test_umafall_without_sensor_table_is_named(tmp_path: Path) -> None:
    name = "UMAFall_Subject_05_ADL_Walking_1_2017-06-13_20-05-40.csv.xz"
    path = _xz(tmp_path / name, "% nothing\n0;0;1;0;0;0;2\n")
    with pytest.raises(DatasetError, match="sensor table"):
        umafall.load_file(path)


def test_dsads_missing_segment_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "a12" / "p1"
    for seg in range(1, 60):  # s60 missing
        _xz(folder / f"s{seg:02d}.txt.xz", "9.80665,0,0,0.1,0,0,1,0,0\n" * 125)
    with pytest.raises(DatasetError) as err:
        dsads.load_activity(folder)
    assert err.value.path.name == "s60.txt.xz" and "missing" in str(err.value)
    _xz(folder / "s60.txt.xz", "9.80665,0,0,0.1,0,0,1,0,0\n" * 125)
    rec = dsads.load_activity(folder)
    assert rec.n_samples == 7500 and rec.activity is ActivityClass.RUN
    np.testing.assert_allclose(rec.acc_g[0], [1.0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(rec.gyro_dps[0, 0], np.degrees(0.1), rtol=1e-6)


def _dsads_folder(root: Path, act: int, subject: str, row: str) -> Path:
    folder = root / "data" / f"a{act:02d}" / subject
    for seg in range(1, 61):
        _xz(folder / f"s{seg:02d}.txt.xz", row * 125)
    return folder


def test_dsads_torso_is_the_same_loader_at_the_trunk(tmp_path: Path) -> None:
    _dsads_folder(tmp_path / "dsads-torso", 15, "p2", "0,0,9.80665,0,-0.5,0,1,0,0\n")
    (rec,) = imu.recordings("dsads-torso", tmp_path)
    assert (rec.dataset, rec.subject, rec.position) == ("dsads-torso", "p2", Position.TORSO)
    assert rec.activity is ActivityClass.CYCLE and rec.rate_hz == 25.0
    assert rec.n_samples == 7500 and rec.segments[0].source_label.startswith("a15 cycling")
    np.testing.assert_allclose(rec.acc_g[-1], [0, 0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(rec.gyro_dps[0, 1], np.degrees(-0.5), rtol=1e-6)
    assert imu.subjects("dsads-torso", tmp_path) == ["p2"]
    with pytest.raises(DatasetError, match="dataset folder 'dsads' is missing"):
        imu.subjects("dsads", tmp_path)  # each unit is found under its own folder


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda p: p.write_bytes(b"\xfd7zXZ\x00 not really xz"), "cannot read"),
        (lambda p: _xz(p, "1,2,3,4,5,6,7,8\n" * 125), "rows of 9 columns"),
        (lambda p: _xz(p, "1,2,3,4,5,6,7,8,9\n" * 124), "124 rows, want 125"),
        (lambda p: _xz(p, "1,2,x,4,5,6,7,8,9\n" * 125), "non-numeric"),
        (lambda p: p.unlink(), "missing"),
    ],
)
def test_dsads_torso_damaged_segment_is_named(
    tmp_path: Path, damage: Callable[[Path], object], reason: str
) -> None:
    folder = _dsads_folder(tmp_path / "dsads-torso", 1, "p4", "0,0,9.8,0,0,0,1,0,0\n")
    damage(folder / "s17.txt.xz")
    with pytest.raises(DatasetError, match=reason) as err:
        next(imu.recordings("dsads-torso", tmp_path))
    assert err.value.path.name == "s17.txt.xz"


def test_hapt_labels_become_half_open_segments(tmp_path: Path) -> None:
    raw = tmp_path / "HAPT Data Set" / "RawData"
    _xz(raw / "acc_exp01_user02.txt.xz", "0 0 1\n" * 20)
    _xz(raw / "gyro_exp01_user02.txt.xz", "0 0 3.14159265\n" * 20)
    (raw / "labels.txt").write_text("1 2 5 3 10\n1 2 7 11 14\n1 2 1 15 20\n")
    (rec,) = ucihapt.recordings(tmp_path)
    assert [(s.start, s.stop, s.activity) for s in rec.segments] == [
        (2, 10, ActivityClass.STAND),
        (10, 14, ActivityClass.UNKNOWN),
        (14, 20, ActivityClass.WALK),
    ]
    assert rec.segments[1].source_label == "STAND_TO_SIT"
    assert rec.gyro_dps[0, 2] == pytest.approx(180.0, rel=1e-6)
    (raw / "labels.txt").write_text("1 2 5 3 21\n")
    with pytest.raises(DatasetError, match="beyond"):
        next(ucihapt.recordings(tmp_path))


def test_unknown_dataset_and_split_are_refused() -> None:
    with pytest.raises(DatasetError):
        imu.split_subjects("nope", "train")
    with pytest.raises(DatasetError):
        imu.split_subjects("sisfall", "holdout")


# ---------------------------------------------------------------- committed splits


@pytest.mark.parametrize("name", list(imu.DATASETS))
def test_splits_are_disjoint_and_not_empty(name: str) -> None:
    parts = {s: set(imu.split_subjects(name, s)) for s in imu.SPLITS}
    assert all(parts.values())
    assert not parts["train"] & parts["validation"]
    assert not parts["train"] & parts["test"]
    assert not parts["validation"] & parts["test"]


def test_units_of_the_same_recordings_share_their_split() -> None:
    """DSADS's torso and arm units are the same people: one split for both, or a subject
    trained on at one unit would be tested on at the other."""
    shared = 0
    for name in imu.DATASETS:
        table = json.loads((imu.SPLIT_DIR / f"{name}.json").read_text())
        other = table.get("same_subjects_as")
        if other is None:
            continue
        shared += 1
        assert other in imu.DATASETS and other != name
        for split in imu.SPLITS:
            assert imu.split_subjects(name, split) == imu.split_subjects(other, split)
    assert shared >= 1  # dsads-torso names dsads


@needs_data
@pytest.mark.parametrize("name", list(imu.DATASETS))
def test_splits_cover_the_subjects_present(name: str) -> None:
    listed = set().union(*(imu.split_subjects(name, s) for s in imu.SPLITS))
    assert listed == set(imu.subjects(name))


@needs_data
def test_fall_sets_have_falls_in_every_split() -> None:
    for name, module in (("sisfall", sisfall), ("umafall", umafall)):
        root = REAL / name  # type: ignore[operator]
        fall_subjects = {
            s for s, p in module.trial_files(root) if p.name[0] == "F" or "_Fall_" in p.name
        }
        for split in imu.SPLITS:
            assert fall_subjects & set(imu.split_subjects(name, split)), (name, split)


# ---------------------------------------------------------------- real data, one subject


@needs_data
def test_real_recordings_are_in_physical_units() -> None:
    checks = {"sisfall": "SE09", "uci-hapt": "03", "dsads": "p2", "umafall": "09"}
    for name, subject in checks.items():
        recs = list(imu.recordings(name, subject_ids=[subject]))
        assert recs and all(r.subject == subject and r.dataset == name for r in recs)
        mags = np.concatenate([np.linalg.norm(r.acc_g, axis=1) for r in recs[:10]])
        # gravity dominates: the median |a| of a person's trials is close to 1 g
        assert 0.8 < float(np.median(mags)) < 1.2, name
        for r in recs[:10]:
            assert r.acc_g.dtype == np.float32 and r.acc_g.shape[1] == 3
            labelled = sum(s.stop - s.start for s in r.segments)
            assert 0 < labelled <= r.n_samples
    umafall_positions = {r.position for r in imu.recordings("umafall", subject_ids=["09"])}
    assert {Position.WAIST, Position.CHEST, Position.WRIST, Position.ANKLE} <= umafall_positions


def test_umafall_mangled_values(tmp_path: Path) -> None:
    """Spreadsheet-mangled numbers (subject 13): a few are interpolated over, many make
    the stream unusable (warning, or DatasetError when strict)."""
    name = "UMAFall_Subject_13_ADL_Walking_1_2016-06-06_16-41-26.csv.xz"
    rows = [f"{50 * i};{i};{0.5 + i / 100};0;0;0;2" for i in range(40)]
    one_bad = rows.copy()
    one_bad[10] = "500;10;1.012.598.156.929.010;0;0;0;2"
    (rec,) = umafall.load_file(_xz(tmp_path / "a" / name, UMA_HEADER + "\n".join(one_bad)))
    assert rec.n_samples == 40 and rec.acc_g[10, 0] == pytest.approx(0.6, abs=1e-6)
    many_bad = [
        r if i % 4 else r.replace(";0;0;0;2", ";-6,10E+10;0;0;2") for i, r in enumerate(rows)
    ]
    path = _xz(tmp_path / "b" / name, UMA_HEADER + "\n".join(many_bad))
    with pytest.warns(imu.DatasetWarning, match="Subject_13.*waist accelerometer"):
        assert umafall.load_file(path) == []
    with pytest.raises(DatasetError, match="mangled"):
        umafall.load_file(path, strict=True)


# ---------------------------------------------------------------- real data, torso unit


@needs_torso
def test_real_dsads_torso() -> None:
    """Six subjects x 19 activities; one sitting and one cycling recording read whole: the
    device's labels, 25 Hz in, the C resampler's 50 Hz out, 1 g of gravity when sitting."""
    from wearsense.firmware.imu import resample

    root = TORSO / "dsads-torso"  # type: ignore[operator]
    assert dsads.TORSO.subjects(root) == ["p1", "p2", "p4", "p6", "p7", "p8"]
    assert dsads.TORSO.count(root) == 6 * 19
    assert dsads.TORSO.count(root, set(imu.split_subjects("dsads-torso", "test"))) == 2 * 19
    sitting = dsads.TORSO.load_activity(root / "data" / "a01" / "p1")
    cycling = dsads.TORSO.load_activity(root / "data" / "a15" / "p1")
    assert (sitting.activity, cycling.activity) == (ActivityClass.SIT, ActivityClass.CYCLE)
    assert dsads.ACTIVITIES[12][0] is ActivityClass.RUN
    assert dsads.ACTIVITIES[8][0] is ActivityClass.UNKNOWN
    for rec in (sitting, cycling):
        assert rec.position is Position.TORSO and rec.dataset == "dsads-torso"
        assert rec.acc_g.shape == rec.gyro_dps.shape == (7500, 3)  # type: ignore[union-attr]
        assert rec.rate_hz == 25.0 and rec.duration_s == 300.0
    norm = np.linalg.norm(sitting.acc_g, axis=1)
    assert abs(float(norm.mean()) - 1.0) < 0.03 and float(norm.std()) < 0.02
    at_50 = resample(sitting.six_axis(), sitting.rate_hz)
    assert abs(len(at_50) - 2 * sitting.n_samples) <= 8  # 50 Hz, less the filter's delay
    assert abs(float(np.linalg.norm(at_50[100:, :3], axis=1).mean()) - 1.0) < 0.03
    # the trunk is calm on the exercise bike but it moves: more than when sitting
    assert float(np.linalg.norm(cycling.acc_g, axis=1).std()) > 2 * float(norm.std())
