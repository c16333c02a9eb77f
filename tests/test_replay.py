"""`wearsense replay` on short real excerpts through the real device core (C detectors,
shipped models). Skipped when the datasets are not under the data root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wearsense.cli import main
from wearsense.datasets import DatasetError, data_root
from wearsense.replay import sources
from wearsense.replay.device import factory_models, open_session_factory
from wearsense.replay.runner import Scorer, replay_recording, run
from wearsense.replay.scoring import score_af


def _has(name: str) -> bool:
    try:
        return (data_root() / name).is_dir()
    except DatasetError:
        return False


needs_mitdb = pytest.mark.skipif(not _has("mitdb"), reason="MIT-BIH not under the data root")
needs_hapt = pytest.mark.skipif(not _has("uci-hapt"), reason="UCI-HAPT not under the data root")
needs_sisfall = pytest.mark.skipif(not _has("sisfall"), reason="SisFall not under the data root")


@needs_mitdb
def test_af_record_starts_an_episode_after_the_devices_rule() -> None:
    rec = next(sources.mitdb_recordings(records=["203"], max_s=120))
    result = replay_recording(rec, open_session_factory())
    starts = [e for e in result.events if e.event.NAME == "af_start"]
    assert len(starts) == 1
    # the device needs 6 AF windows in a row (30.72 s) before it may start an episode
    assert 30.0 <= starts[0].t_s <= 60.0
    row = score_af(result.events, rec.annotations["rhythms"], rec.duration_s)
    assert row["annotated_episodes"][0]["detected"]
    # events are stamped with the recording's seconds (device time follows the samples)
    assert all(0 <= e.t_s <= rec.duration_s + 1 for e in result.events)


@needs_mitdb
def test_sinus_record_starts_no_episode() -> None:
    rec = next(sources.mitdb_recordings(records=["108"], max_s=300))
    result = replay_recording(rec, open_session_factory())
    assert not [e for e in result.events if e.event.NAME in ("af_start", "af_end")]


SAMPLES = Path(__file__).resolve().parents[1] / "samples" / "data"


def test_cli_writes_events_json_and_store(tmp_path: Path) -> None:
    """On the repository's sample excerpt of MIT-BIH 219 (AF), so it always runs."""
    events, out, db = tmp_path / "e.jsonl", tmp_path / "r.json", tmp_path / "ws.db"
    argv = ["replay", "--data-dir", str(SAMPLES), "--dataset", "mitdb", "--split", "all"]
    argv += ["--events", str(events), "--json", str(out), "--store", str(db), "--quiet"]
    argv += ["--start-utc", "1767225600"]
    assert main(argv) == 0
    rows = [json.loads(line) for line in events.read_text().splitlines()]
    assert [r["type"] for r in rows].count("af_start") == 1
    summary = json.loads(out.read_text())
    assert summary["mitdb"]["records"] == ["219"]
    assert summary["mitdb"]["episodes_detected"] == 1
    assert summary["models"]["afib"] is not None
    from wearsense.store import Store

    with Store(db) as store:
        stored = store.events(serial="RP-mitd-219")
    assert [e.seq for e in stored] == [r["seq"] for r in rows]
    # device time 0 (the recording's start) is placed at --start-utc
    start = next(e for e in stored if e.type == "af_start")
    row = next(r for r in rows if r["type"] == "af_start")
    assert start.utc == 1767225600 + row["t_s"]


@needs_hapt
def test_activity_timeline_on_one_experiment() -> None:
    recs = list(sources.imu_recordings("uci-hapt", "test", limit=1))
    summary = run(recs, open_session_factory(), scorer=Scorer())
    act = summary["uci-hapt"]
    assert act["labelled_hours"] > 0.05
    # silence is no agreement: until the first ACTIVITY_CHANGE the device's class is unknown
    if not act["events"].get("activity_change"):
        assert act["agreement"] == 0.0
    else:
        assert 0.0 < act["agreement"] <= 1.0
        assert act["per_class"]["walk"]["agreement"] > 0.5


@needs_sisfall
def test_fall_trial_gives_one_fall_and_a_walk_none() -> None:
    from wearsense.datasets.common import dataset_dir
    from wearsense.datasets.imu import sisfall

    folder = dataset_dir("sisfall") / "SisFall_dataset" / "SA07"
    fall = sources.from_imu(sisfall.load_trial("SA07", folder / "F01_SA07_R01.txt.xz"))
    walk = sources.from_imu(sisfall.load_trial("SA07", folder / "D01_SA07_R01.txt.xz"))
    models = open_session_factory()
    if factory_models()["fall"] is None:
        pytest.skip("no fall model shipped")
    fell = replay_recording(fall, models)
    falls = [e for e in fell.events if e.event.NAME == "fall"]
    assert len(falls) == 1
    assert 0.0 < falls[0].t_s - fall.annotations["impact_s"] < 15.0
    walked = replay_recording(walk, models)
    assert not [e for e in walked.events if e.event.NAME == "fall"]


def test_cli_refuses_a_models_folder_without_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["replay", "--data-dir", str(SAMPLES), "--dataset", "mitdb", "--split", "all"]
    assert main([*argv, "--models", str(tmp_path), "--quiet"]) == 1
    assert "no models under" in capsys.readouterr().err
