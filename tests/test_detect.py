"""The detectors (firmware/src/detectors, run by firmware/src/app/detect.c) on real recordings,
through wearsense.emulator.device.Wearable: every event here comes from the C detectors
running on recorded signals (MIT-BIH, SisFall); nothing is scripted. Rules:
docs/detectors.md."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from wearsense import protocol
from wearsense.datasets import DatasetError, mitdb
from wearsense.datasets.common import data_root
from wearsense.emulator.device import Wearable, WearableError, shipped_models
from wearsense.firmware.device import DeviceError
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
    # 3 AF windows of 10.24 s (30.72 s) after the first window's start, plus the front end
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
    assert stats.af_windows >= 28  # 300 s / 10.24 s
    assert stats.af_af <= 1


@needs_data
def test_af_then_sinus_ends_the_episode_with_its_duration() -> None:
    af, sinus = _mitdb("221"), _mitdb("222")  # both MLII, 200 counts/mV, zero 1024
    dev = Wearable("WS-AF03")
    _feed_mitdb(dev, af, 0, 90)
    _feed_mitdb(dev, sinus, 0, 120)
    starts, ends = _of(dev, protocol.AfStart), _of(dev, protocol.AfEnd)
    assert len(starts) == 1 and len(ends) == 1
    end = ends[0]
    # 90 s of AF, in whole windows of 10.24 s
    assert 75 <= end.duration_s <= 95
    assert end.time_s >= 90 + 30  # sustained non-AF (3 windows, 30.72 s) before it ends
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
    assert 55 <= q.duration_s <= 75  # whole windows: up to one window (10.24 s) more
    assert dev.stats().af_noisy >= 5


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


# ---------------------------------------------------------------- falls and activity


def _sisfall(name: str):  # type: ignore[no-untyped-def]
    from wearsense.datasets.imu import sisfall

    root = ROOT / "sisfall" if ROOT is not None else None
    for subject, path in sisfall.trial_files(root):
        if path.name.startswith(name):
            return sisfall.load_trial(subject, path)
    raise AssertionError(f"SisFall trial {name} missing")


@needs_data
@needs_fall
def test_a_fall_trial_gives_exactly_one_fall() -> None:
    rec = _sisfall("F01_SA07_R01")  # SA07 is a test subject: a slip while walking
    dev = Wearable("WS-FA01")
    dev.feed_imu(rec.six_axis(), int(rec.rate_hz))
    falls = _of(dev, protocol.Fall)
    assert len(falls) == 1
    fall = falls[0]
    assert fall.impact_mg >= 1600  # the trigger threshold
    assert fall.stillness_s >= 2
    assert fall.model_version == MODELS[1][1]
    assert 2 <= fall.time_s <= rec.duration_s + 1
    assert dev.stats().impacts >= 1


@needs_data
@needs_fall
def test_button_within_the_window_cancels_the_fall() -> None:
    rec = _sisfall("F01_SA07_R01")
    dev = Wearable("WS-FA02")
    dev.feed_imu(rec.six_axis(), int(rec.rate_hz))
    (fall,) = _of(dev, protocol.Fall)
    dev.advance(5)
    dev.press_button()
    dev.press_button()  # a second press changes nothing
    (cancel,) = _of(dev, protocol.FallCancelled)
    assert cancel.fall_seq == fall.seq
    assert cancel.delay_s == dev.time_s - fall.time_s
    assert cancel.model_version == fall.model_version


@needs_data
@needs_fall
def test_button_after_the_window_does_nothing() -> None:
    rec = _sisfall("F01_SA07_R01")
    dev = Wearable("WS-FA03")
    cmd = protocol.Command(protocol.Opcode.SET_CONFIG, 1, {"key": 1, "value": 10})
    assert dev.command(cmd).status == Status.OK  # a 10 s cancel window
    dev.feed_imu(rec.six_axis(), int(rec.rate_hz))
    (fall,) = _of(dev, protocol.Fall)
    dev.advance(fall.time_s + 11 - dev.time_s)
    dev.press_button()
    assert not _of(dev, protocol.FallCancelled)


@needs_data
@needs_fall
def test_walking_raises_no_fall_and_settles_on_walking() -> None:
    rec = _sisfall("D01_SA07_R01")  # walking slowly for 100 s
    dev = Wearable("WS-FA04")
    dev.feed_imu(rec.six_axis(), int(rec.rate_hz))
    assert not _of(dev, protocol.Fall)
    changes = _of(dev, protocol.ActivityChange)
    assert changes and changes[0].from_class == protocol.ActivityClass.UNKNOWN
    assert dev.stats().activity == protocol.ActivityClass.WALK
    for c in changes:
        assert c.from_class != c.to_class
        assert c.model_version == MODELS[2][1]


@needs_data
@needs_fall
def test_hourly_activity_summary_counts_the_minutes() -> None:
    rec = _sisfall("D01_SA07_R01")
    dev = Wearable("WS-FA05")
    dev.feed_imu(rec.six_axis(), int(rec.rate_hz))  # 100 s
    dev.advance(3600 - dev.time_s)
    (summary,) = _of(dev, protocol.ActivitySummary)
    assert summary.time_s == 3600
    assert 1 <= sum(summary.minutes) <= 3  # 100 s of windows, rounded per class
    assert summary.minutes[protocol.ActivityClass.WALK] >= 1


@needs_data
def test_reset_keeps_events_and_time_and_restarts_the_detectors() -> None:
    rec = _mitdb("221")
    dev = Wearable("WS-AF08")
    # AF throughout: three AF windows (30.72 s) start an episode; the first window, while
    # the beat detector learns the signal, may not count
    _feed_mitdb(dev, rec, 0, 50)
    (first,) = _of(dev, protocol.AfStart)
    again = dev.reset()
    assert [e.seq for e in _of(again, protocol.AfStart)] == [first.seq]  # kept in flash
    _feed_mitdb(again, rec, 50, 100)
    starts = _of(again, protocol.AfStart)
    assert len(starts) == 2  # the detectors started over: a new episode after the reboot
    assert starts[1].seq > first.seq
    assert starts[1].time_s >= 50 + 30  # the clock went on from where it was


@needs_data
def test_events_do_not_depend_on_how_samples_are_split() -> None:
    rec = _mitdb("219")  # AF with rate changes and some noise
    lead = rec.lead_index()
    x = rec.signals[: 240 * rec.fs, lead]
    kw = {"adc_gain": rec.adc_gain[lead], "adc_zero": rec.adc_zero[lead]}
    whole, pieces = Wearable("WS-AF09"), Wearable("WS-AF09")
    whole.feed_ecg(x, rec.fs, **kw)
    cuts = np.sort(np.random.default_rng(9).choice(len(x), 60, replace=False))
    for part in np.split(x, cuts):
        pieces.feed_ecg(part, rec.fs, **kw)
    assert whole.detections() == pieces.detections()
    assert whole.detections()  # AF in this stretch: something to compare


@needs_data
def test_lent_interpreter_is_reloaded_before_the_next_inference() -> None:
    """The update service may verify packages in the app's interpreter and arena
    (ws_app_interpreter); the detectors must notice and reload their model."""
    from pathlib import Path

    rec = _mitdb("221")
    plain, lent = Wearable("WS-AF10"), Wearable("WS-AF10")
    _feed_mitdb(plain, rec, 0, 60)
    _feed_mitdb(lent, rec, 0, 25)
    other = (Path(__file__).parent / "fixtures/foreign/aeq_cnn_softmax.tflite").read_bytes()
    ffi, lib = lent.ffi, lent.lib
    arena, size = ffi.new("uint8_t **"), ffi.new("size_t *")
    nn = lib.ws_app_interpreter(lent._app, arena, size)
    blob = ffi.new("uint8_t[]", other + bytes(16))
    aligned = blob + (-int(ffi.cast("uintptr_t", blob))) % 16
    ffi.memmove(aligned, other, len(other))
    assert lib.ws_nn_load(nn, aligned, len(other)) == 0
    assert lib.ws_nn_set_arena(nn, arena[0], size[0]) == 0
    ffi.memmove(arena[0], b"\x5a" * size[0], size[0])  # and scribble over the arena
    loads = lent.stats().model_loads
    _feed_mitdb(lent, rec, 25, 60)
    assert lent.stats().model_loads == loads + 1
    assert lent.detections() == plain.detections()
    assert _of(lent, protocol.AfStart)


# ---------------------------------------------------------------- on-demand recording


@needs_data
def test_an_on_demand_recording_gives_one_verdict_of_the_windows_after_it() -> None:
    start = protocol.Command(protocol.Opcode.START_RECORDING, 1, {"duration_s": 30})
    verdicts = {}
    for rid in ("221", "111"):  # AF throughout its first minutes; sinus rhythm throughout
        rec = _mitdb(rid)
        dev = Wearable("WS-REC01")
        assert dev.command(start).status == Status.OK
        again = protocol.Command(protocol.Opcode.START_RECORDING, 2, {"duration_s": 10})
        assert dev.command(again).status == Status.BUSY  # one at a time
        _feed_mitdb(dev, rec, 0, 60)
        found = _of(dev, protocol.EcgRecording)
        assert len(found) == 1
        r = found[0]
        # asked before the first sample: the 4 windows every 5.12 s that end within 30 s
        # (0-10.24 s ... 15.36-25.6 s)
        assert r.duration_s == 26 and 25 <= r.time_s <= 27
        beats = rec.beat_samples[rec.beat_samples < 20.48 * rec.fs]  # back-to-back windows'
        true_hr = 60.0 * rec.fs / np.mean(np.diff(beats))
        assert abs(r.hr_bpm - true_hr) < 0.1 * true_hr
        assert r.quality == 0 and 50 <= r.confidence <= 100
        assert dev.command(again).status == Status.OK  # the next may start
        verdicts[rid] = r.rhythm_class
    assert verdicts == {"221": protocol.RhythmClass.AF, "111": protocol.RhythmClass.NORMAL}

    dev = Wearable("WS-REC03")  # asked during a window: the recording starts with the next
    rec = _mitdb("221")
    _feed_mitdb(dev, rec, 0, 15)  # into window 1 (10.24-20.48 s)
    assert dev.command(start).status == Status.OK
    _feed_mitdb(dev, rec, 15, 60)
    (r,) = _of(dev, protocol.EcgRecording)
    # windows from 20.48 s: the last ends at 46.08 s
    assert 46 <= r.time_s <= 48 and r.rhythm_class == protocol.RhythmClass.AF

    dev = Wearable("WS-REC04")  # 60 s, the longest: 10 windows, 56.32 s
    assert dev.command(protocol.Command(protocol.Opcode.START_RECORDING, 1, {"duration_s": 60}))
    _feed_mitdb(dev, _mitdb("111"), 0, 70)
    (r,) = _of(dev, protocol.EcgRecording)
    assert r.duration_s == 56 and 56 <= r.time_s <= 58

    dev = Wearable("WS-REC02")  # electrodes off: no guess
    assert dev.command(start).status == Status.OK
    dev.set_leads_off(True)
    _feed_mitdb(dev, _mitdb("111"), 0, 60)
    (r,) = _of(dev, protocol.EcgRecording)
    assert r.rhythm_class == protocol.RhythmClass.NOISY
    assert r.quality & protocol.Quality.LEADS_OFF and r.confidence == 0 and r.hr_bpm == 0


@needs_data
def test_a_recording_judges_a_cinc_record_as_the_evaluation_does() -> None:
    """The device's ECG_RECORDING for a CinC record is the verdict `wearsense evaluate
    afib` gives it (the same windows, RR features and quality gate), so the evaluation's
    figures are the spot-check device's (tools/afib_spot_check.py scores every record)."""
    from wearsense.datasets import cinc2017
    from wearsense.firmware.nn import NNModel
    from wearsense.training import afib

    blob = (Path(__file__).parents[1] / "models/afib/afib.tflite").read_bytes()
    model = NNModel(blob, "afib")
    # every 6th validation record, and one whose search-back beat came 2 s late
    ids = sorted(set(afib.load_split_ids()["validation"][::6]) | {"A05233"})
    device, evaluation, by_peak = [], [], []
    for rec in cinc2017.iter_records(ids, ROOT):
        ecg = afib.record_input(rec)
        windows, seconds = afib.recording_for(ecg)
        if windows < 1:
            continue
        dev = Wearable("WS-SPOT1", models={"afib": (blob, 3)})
        dev.command(protocol.Command(protocol.Opcode.START_RECORDING, 1, {"duration_s": seconds}))
        dev.feed_ecg(rec.signal, int(rec.fs), adc_gain=rec.adc_gain, adc_zero=rec.adc_zero)
        (r,) = _of(dev, protocol.EcgRecording)
        assert r.duration_s == round((windows + 1) * 5.12)
        device.append(int(r.rhythm_class))
        evaluation.append(afib.record_verdict(model, ecg))
        probs = afib.probabilities(model, afib.model_inputs(ecg, afib.model_length(model)))
        seen = probs[afib.seen_windows(ecg, len(probs))]
        if (
            seen.mean(axis=0).argmax() == afib.CINC_CLASS["N"]
            and device[-1] == afib.CINC_CLASS["O"]
        ):
            by_peak.append(rec.record_id)
            assert r.confidence == int(100 * seen[:, afib.CINC_CLASS["O"]].max() + 0.5)
    assert device == evaluation
    assert len(device) > 50 and len(set(device)) >= 3  # records of several classes judged
    assert by_peak  # WS_REC_OTHER_PEAK decided some: normal on average, one window "other"


@needs_data
def test_the_verdicts_do_not_depend_on_how_the_ecg_arrives() -> None:
    """Windows are judged as they end with the beats and quality verdicts made by then:
    the same events whether the ECG comes in one piece or in chunks of any size."""
    rng = np.random.default_rng(7)
    rec = _mitdb("221")
    lead = rec.lead_index()
    x = rec.signals[: 150 * rec.fs, lead]
    start = protocol.Command(protocol.Opcode.START_RECORDING, 1, {"duration_s": 60})
    runs = []
    for pieces in (1, 0):
        dev = Wearable("WS-CHUNK")
        dev.command(start)
        cuts = [0, len(x)] if pieces else np.unique(np.r_[0, rng.integers(1, len(x), 900), len(x)])
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            dev.feed_ecg(x[a:b], rec.fs, adc_gain=rec.adc_gain[lead], adc_zero=rec.adc_zero[lead])
        runs.append(dev.detections())
    assert runs[0] == runs[1]
    assert any(isinstance(e, protocol.EcgRecording) for e in runs[0])
