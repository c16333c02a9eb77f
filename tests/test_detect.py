"""The detectors (firmware/src/app/ws_detect.c) on real recordings, through
wearsense.firmware.wearable.Wearable: every event here comes from the C detectors running
on recorded signals (MIT-BIH, SisFall); nothing is scripted. Rules: docs/detectors.md."""

from __future__ import annotations

import numpy as np
import pytest

from wearsense import protocol
from wearsense.datasets import DatasetError, mitdb
from wearsense.datasets.common import data_root
from wearsense.firmware.device import DeviceError
from wearsense.firmware.wearable import Wearable, WearableError, shipped_models
from wearsense.protocol import Status

try:
    ROOT = data_root()
except DatasetError:  # pragma: no cover
    ROOT = None
needs_data = pytest.mark.skipif(ROOT is None, reason="shared data root not present")

MODELS = shipped_models()
needs_fall = pytest.mark.skipif(
    1 not in MODELS or 2 not in MODELS, reason="fall/activity models not shipped yet"
)


def _mitdb(record_id: str) -> mitdb.MitdbRecord:
    return mitdb.load_record(record_id, ROOT)


def _feed_mitdb(dev: Wearable, rec: mitdb.MitdbRecord, start_s: float, end_s: float) -> None:
    lead = rec.lead_index()
    a, b = int(start_s * rec.fs), int(end_s * rec.fs)
    dev.feed_ecg(
        rec.signals[a:b, lead], rec.fs, adc_gain=rec.adc_gain[lead], adc_zero=rec.adc_zero[lead]
    )


def _of(dev: Wearable, kind: type) -> list:
    return [e for e in dev.detections() if isinstance(e, kind)]


# ---------------------------------------------------------------- AF


@needs_data
def test_af_segment_starts_one_episode_after_30_s() -> None:
    rec = _mitdb("221")  # atrial fibrillation from the first sample (annotated 0-288 s)
    dev = Wearable("WS-AF01")
    _feed_mitdb(dev, rec, 0, 120)
    starts = _of(dev, protocol.AfStart)
    assert len(starts) == 1
    start = starts[0]
    # 6 AF windows of 5.12 s (30.72 s) after the first window's centre, plus the front end
    assert 30 <= start.onset_lag_s <= 45
    assert 30 <= start.time_s <= 45  # device time follows the recording's seconds
    assert start.time_s - start.onset_lag_s <= 10  # the onset is the recording's start
    assert start.model_version == MODELS[0][1]
    beats = rec.beat_samples[(rec.beat_samples > 0) & (rec.beat_samples < 40 * rec.fs)]
    true_hr = 60.0 * rec.fs / np.median(np.diff(beats))
    assert abs(start.hr_bpm - true_hr) < 0.25 * true_hr
    assert not _of(dev, protocol.AfEnd)
    assert dev.stats().in_af


@needs_data
def test_sinus_rhythm_raises_no_af() -> None:
    rec = _mitdb("222")  # annotated normal sinus rhythm for its first 543 s
    dev = Wearable("WS-AF02")
    _feed_mitdb(dev, rec, 0, 300)
    assert not _of(dev, protocol.AfStart)
    stats = dev.stats()
    assert stats.af_windows >= 55  # 300 s / 5.12 s, less the first window's fill
    assert stats.af_af <= 2


@needs_data
def test_af_then_sinus_ends_the_episode_with_its_duration() -> None:
    af, sinus = _mitdb("221"), _mitdb("222")  # both MLII, 200 counts/mV, zero 1024
    dev = Wearable("WS-AF03")
    _feed_mitdb(dev, af, 0, 90)
    _feed_mitdb(dev, sinus, 0, 120)
    starts, ends = _of(dev, protocol.AfStart), _of(dev, protocol.AfEnd)
    assert len(starts) == 1 and len(ends) == 1
    end = ends[0]
    # 90 s of AF, less the first window's half (the onset is its centre), give or take a hop
    assert 75 <= end.duration_s <= 95
    assert end.time_s >= 90 + 30  # sustained non-AF (6 windows) before it ends
    assert end.time_s <= 90 + 50
    assert 40 <= end.mean_hr_bpm <= 150
    assert end.model_version == starts[0].model_version


@needs_data
def test_leads_off_is_reported_not_guessed() -> None:
    rec = _mitdb("221")
    dev = Wearable("WS-AF04")
    dev.set_leads_off(True)
    _feed_mitdb(dev, rec, 0, 60)  # AF underneath, but the electrodes report leads off
    dev.set_leads_off(False)
    _feed_mitdb(dev, rec, 60, 90)
    assert not _of(dev, protocol.AfStart)
    quality = _of(dev, protocol.SignalQuality)
    assert len(quality) == 1
    q = quality[0]
    assert q.source == protocol.SignalSource.ECG
    assert q.flags & protocol.Quality.LEADS_OFF
    assert 55 <= q.duration_s <= 72  # whole windows: up to one window (10.24 s) more
    assert dev.stats().af_noisy >= 9


@needs_data
def test_summaries_per_configured_interval() -> None:
    rec = _mitdb("222")
    dev = Wearable("WS-AF05")
    cmd = protocol.Command(protocol.Opcode.SET_CONFIG, 1, {"key": 2, "value": 3})
    assert dev.command(cmd).status == Status.OK  # summaries every 3 minutes
    _feed_mitdb(dev, rec, 0, 540)  # sinus rhythm throughout
    rhythm = _of(dev, protocol.RhythmSummary)
    hr = _of(dev, protocol.HrSummary)
    assert [r.time_s for r in rhythm] == [180, 360, 540]
    assert [h.time_s for h in hr] == [180, 360, 540]
    for r in rhythm:
        assert r.interval_s == 180
        assert 150 <= r.analysable_s <= 180
        assert r.af_s <= 11
    beats = rec.beat_samples[rec.beat_samples < 540 * rec.fs]
    true_mean = 60.0 * rec.fs / np.mean(np.diff(beats))
    for h in hr:
        assert h.min_bpm <= h.mean_bpm <= h.max_bpm
        assert abs(h.mean_bpm - true_mean) < 0.1 * true_mean
        assert h.model_version == 0  # heart rate comes from the front end, not a model


@needs_data
def test_model_version_travels_in_the_header() -> None:
    blob, _ = MODELS[0]
    dev = Wearable("WS-AF06", models={"afib": (blob, 7)})
    _feed_mitdb(dev, _mitdb("221"), 0, 60)
    (start,) = _of(dev, protocol.AfStart)
    assert start.model_version == 7
    assert dev.info().model_versions[0] == 7


def test_model_refusals_are_clear() -> None:
    dev = Wearable("WS-AF07", models=None)
    with pytest.raises(WearableError) as err:
        dev.set_model("afib", b"not a model at all", 1)
    assert err.value.code_name == "NN_FORMAT"
    with pytest.raises(WearableError) as err:
        dev.set_model("fall", MODELS[0][0], 1)  # AFib input (1280) for the fall task (896)
    assert err.value.code_name == "NN_SHAPE"
    with pytest.raises(DeviceError):
        dev.set_model("sleep", MODELS[0][0], 1)
    with pytest.raises(DeviceError):
        dev.feed_imu(np.zeros((10, 4)), 50)
    with pytest.raises(DeviceError):
        dev.feed_ecg(np.array([np.nan, 0.0]), 250)
    assert dev.detections() == []
