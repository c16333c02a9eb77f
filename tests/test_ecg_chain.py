"""The firmware ECG chain (firmware/src/dsp) through wearsense.firmware.ecg: filters
against scipy, the resampler against the exact signal and scipy's resample_poly,
block-size invariance, QRS detection against neurokit2 (synthetic) and the MIT-BIH
annotations (real), quality flags, and the C error paths."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy import signal

from wearsense.datasets import DatasetError, cinc2017, data_root, mitdb
from wearsense.ecg.qrs import detect_record, gross, match_beats, score_record
from wearsense.firmware.ecg import (
    FLAT,
    LEADS_OFF,
    NOISY,
    RATE_HZ,
    SATURATED,
    EcgChain,
    EcgConfigError,
    run_chain,
)

try:
    ROOT = data_root()
except DatasetError:  # pragma: no cover
    ROOT = None
needs_data = pytest.mark.skipif(ROOT is None, reason="shared data root not present")


def reference_filter(x: np.ndarray) -> np.ndarray:
    """scipy's version of the chain's filters (0.5 Hz high-pass, 40 Hz low-pass),
    started in the steady state of the first sample as the firmware does."""
    sos = np.vstack(
        [
            signal.butter(2, 0.5, "highpass", fs=RATE_HZ, output="sos"),
            signal.butter(4, 40, "lowpass", fs=RATE_HZ, output="sos"),
        ]
    )
    y, _ = signal.sosfilt(sos, x, zi=signal.sosfilt_zi(sos) * x[0])
    return y


def multisine(t: np.ndarray) -> np.ndarray:
    """mV; band-limited (1-35 Hz) so resampling has an exact answer."""
    return (
        0.8 * np.sin(2 * np.pi * 1.3 * t)
        + 0.5 * np.sin(2 * np.pi * 7.0 * t + 0.4)
        + 0.3 * np.sin(2 * np.pi * 17.0 * t + 1.1)
        + 0.2 * np.sin(2 * np.pi * 35.0 * t + 2.0)
    )


def test_filters_match_scipy_at_device_rate() -> None:
    t = np.arange(20 * RATE_HZ) / RATE_HZ
    rng = np.random.default_rng(5)
    mv = multisine(t) + 1.5 + 0.1 * rng.standard_normal(len(t))  # offset, broadband noise
    raw = np.round(mv * 1000).astype(np.int16)  # 1000 counts per mV
    out = run_chain(raw, RATE_HZ, 1000.0)
    assert out.delay_s == 0 and len(out.signal) == len(raw)
    expected = reference_filter(raw / 1000.0) * 1000  # uV
    assert np.max(np.abs(out.signal - expected)) <= 1.0  # rounding to 1 uV plus float32


@pytest.mark.parametrize("fs", [300, 360])
def test_resampler_matches_exact_signal_and_scipy(fs: int) -> None:
    duration = 20
    t_in = np.arange(duration * fs) / fs
    raw = np.round(multisine(t_in) * 1000).astype(np.int16)
    out = run_chain(raw, fs, 1000.0)
    assert abs(len(out.signal) - duration * RATE_HZ) <= 1
    # the exact band-limited signal at the instants the output stands for
    t_out = np.arange(len(out.signal)) / RATE_HZ - out.delay_s
    exact = reference_filter(multisine(t_out)) * 1000
    settled = slice(6 * RATE_HZ, len(out.signal) - RATE_HZ)  # after the 0.5 Hz transient
    err = np.abs(out.signal[settled] - exact[settled])
    assert np.max(err) < 0.005 * 1800  # < 0.5 % of the signal's range
    # scipy's polyphase resampler (zero-phase, Kaiser window) on its own grid: ours is
    # about as close to the exact signal as it is
    g = np.gcd(fs, RATE_HZ)
    theirs = reference_filter(signal.resample_poly(raw / 1000.0, RATE_HZ // g, fs // g)) * 1000
    exact_grid = reference_filter(multisine(np.arange(len(theirs)) / RATE_HZ)) * 1000
    err_scipy = np.abs(theirs - exact_grid)[6 * RATE_HZ : len(theirs) - RATE_HZ]
    assert np.max(err) < max(2.0 * np.max(err_scipy), 2.0)


def _same(a: Any, b: Any) -> None:
    np.testing.assert_array_equal(a.signal, b.signal)
    for field in ("sample", "rr_ms", "amp_uv", "flags"):
        np.testing.assert_array_equal(getattr(a.beats, field), getattr(b.beats, field))
    for field in ("start", "flags", "beats"):
        np.testing.assert_array_equal(getattr(a.quality, field), getattr(b.quality, field))


@needs_data
@pytest.mark.parametrize("normalised", [False, True])
def test_block_size_invariance_on_real_ecg(normalised: bool) -> None:
    rec = mitdb.load_record("203", ROOT)
    raw = rec.signals[: 360 * 60, 0]
    kw = {"adc_zero": 1024, "adc_min": 0, "adc_max": 2047, "normalised": normalised}
    whole = run_chain(raw, 360, 200.0, **kw)
    assert len(whole.beats.sample) > 60
    for block in (7, 500, 2048):
        _same(whole, run_chain(raw, 360, 200.0, block=block, **kw))
    # one sample at a time, on a shorter piece, against that piece whole
    piece = raw[: 360 * 12]
    _same(run_chain(piece, 360, 200.0, **kw), run_chain(piece, 360, 200.0, block=1, **kw))
    # random block sizes
    rng = np.random.default_rng(1)
    chain = EcgChain(360, 200.0, **kw)
    cuts = np.sort(rng.choice(np.arange(1, len(raw)), size=40, replace=False))
    parts = [chain.process(p) for p in np.split(raw, cuts)]
    np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), whole.signal)
    assert [b[0] for p in parts for b in p[1]] == whole.beats.sample.tolist()
    assert [q[1] for p in parts for q in p[2]] == whole.quality.flags.tolist()


def _simulated(hr: int, seed: int, fs: int = 360, seconds: int = 60) -> tuple[np.ndarray, Any]:
    nk = pytest.importorskip("neurokit2")
    ecg = nk.ecg_simulate(
        duration=seconds, sampling_rate=fs, heart_rate=hr, method="ecgsyn", random_state=seed
    )
    _, info = nk.ecg_peaks(ecg, sampling_rate=fs)
    return ecg, np.asarray(info["ECG_R_Peaks"]) / fs


@pytest.mark.parametrize(("hr", "fs"), [(55, 360), (75, 300), (130, 360)])
def test_qrs_matches_neurokit_on_synthetic_ecg(hr: int, fs: int) -> None:
    ecg, ref = _simulated(hr, seed=hr, fs=fs)
    out = run_chain(np.round(ecg * 1000).astype(np.int16), fs, 1000.0)
    det = out.beat_times_s()
    # neurokit leaves the edges unlabelled: score the inner 58 s
    ref_ok, det_ok = match_beats(ref, det)
    inner_ref, inner_det = (ref > 1.0) & (ref < 59.0), (det > 1.0) & (det < 59.0)
    assert inner_ref.sum() > 50
    assert ref_ok[inner_ref].all() and det_ok[inner_det].all()
    # R peaks are located, not just detected: within 20 ms of neurokit's
    paired = det[np.abs(det[:, None] - ref[inner_ref][None, :]).argmin(axis=0)]
    assert np.median(np.abs(paired - ref[inner_ref])) < 0.020
    # RR intervals are the differences of the beats, in ms
    rr = out.beats.rr_ms[1:]
    assert np.array_equal(rr, np.diff(out.beats.sample) * 1000 // RATE_HZ)
    assert abs(np.median(rr) - 60000 / hr) < 0.05 * 60000 / hr


@needs_data
def test_qrs_against_mitdb_annotations() -> None:
    scores = [score_record(mitdb.load_record(r, ROOT)) for r in ("219", "221", "111")]
    total = gross(scores)
    assert total.tp > 5000
    assert total.sensitivity > 0.995 and total.ppv > 0.995, scores


@needs_data
def test_normalised_output_scales_r_waves() -> None:
    rec = mitdb.load_record("219", ROOT)
    out = run_chain(rec.signals[: 360 * 60, 0], 360, 200.0, 1024, 0, 2047, normalised=True)
    late = out.beats.sample[out.beats.sample > 20 * RATE_HZ]
    r_values = np.abs(out.signal[late].astype(float))
    assert 0.6 * 8192 < np.median(r_values) < 1.4 * 8192


def _flags(raw: np.ndarray, fs: int = RATE_HZ, **kw: Any) -> np.ndarray:
    return run_chain(raw, fs, 1000.0, **kw).quality.flags


def test_quality_flags_on_synthetic_faults() -> None:
    ecg, _ = _simulated(70, seed=3, fs=RATE_HZ, seconds=20)
    clean = np.round(ecg * 1000).astype(np.int16)
    assert not _flags(clean)[1:].any()
    flat = np.full(20 * RATE_HZ, 120, dtype=np.int16)
    assert (_flags(flat) == FLAT).all()
    pinned = np.full(20 * RATE_HZ, 32767, dtype=np.int16)
    assert (_flags(pinned) == LEADS_OFF).all()
    top = int(np.percentile(clean, 97))  # R waves cut at a low rail
    clipped = np.clip(clean, -32768, top)
    assert (_flags(clipped, adc_min=-2000, adc_max=top)[1:] & SATURATED).all()
    rng = np.random.default_rng(0)
    noisy = clean + np.round(rng.standard_normal(len(clean)) * 400).astype(np.int16)
    assert (_flags(noisy)[1:] & NOISY).mean() > 0.8
    motion = clean + np.round(6000 * np.sin(2 * np.pi * 1.0 * np.arange(len(clean)) / 250))
    assert (_flags(motion.astype(np.int16))[1:] & NOISY).mean() > 0.8


def test_hardware_leads_off_input() -> None:
    ecg, _ = _simulated(70, seed=4, fs=RATE_HZ, seconds=10)
    raw = np.round(ecg * 1000).astype(np.int16)
    chain = EcgChain(RATE_HZ, 1000.0)
    _, _, q1 = chain.process(raw[:1000])
    chain.set_leads_off(True)
    _, _, q2 = chain.process(raw[1000:2000])
    chain.set_leads_off(False)
    _, _, q3 = chain.process(raw[2000:])
    assert [f for _, f, _ in q1] == [0, 0]
    assert all(f & LEADS_OFF for _, f, _ in q2)
    assert q3[-1][1] == 0


@pytest.mark.parametrize(
    ("kw", "status"),
    [
        ({"fs_hz": 128}, 96),  # 250/gcd = 125 phases
        ({"fs_hz": 50}, 96),
        ({"adc_gain": 0.0}, 97),
        ({"adc_gain": 0.05}, 97),
        ({"adc_gain": 2e6}, 97),
        ({"adc_gain": float("nan")}, 97),
        ({"adc_min": 10, "adc_max": 10}, 97),
        ({"adc_zero": 5000, "adc_max": 4095, "adc_min": 0}, 97),
    ],
)
def test_bad_configuration_is_refused(kw: dict[str, Any], status: int) -> None:
    args = {"fs_hz": 360, "adc_gain": 200.0} | kw
    with pytest.raises(EcgConfigError) as info:
        EcgChain(**args)
    assert info.value.status == status


def _c_calls(module: Any) -> None:
    """Misuse of the C API returns documented codes, never crashes."""
    ffi, lib = module.ffi, module.lib
    buf = ffi.new("uint64_t[]", (lib.ws_ecg_state_size() + 7) // 8)
    st = ffi.cast("ws_ecg_t *", buf)
    n_out = ffi.new("size_t *")
    raw = ffi.new("int16_t[]", lib.WS_ECG_MAX_BLOCK + 1)
    out = ffi.new("int16_t[]", 4 * lib.WS_ECG_MAX_BLOCK)
    assert lib.ws_ecg_process(st, raw, 10, out, 100, n_out) == lib.WS_ERR_STATE
    assert lib.ws_ecg_init(ffi.NULL, ffi.NULL) == lib.WS_ERR_ARG
    cfg = ffi.new("ws_ecg_config_t *", {"fs_in_hz": 360, "adc_gain": 200.0, "adc_max": 2047})
    cfg.output_mode = 7
    assert lib.ws_ecg_init(st, cfg) == lib.WS_ERR_DSP_CONFIG
    cfg.output_mode = 0
    assert lib.ws_ecg_init(st, cfg) == lib.WS_OK
    big = lib.WS_ECG_MAX_BLOCK + 1
    assert lib.ws_ecg_process(st, raw, big, out, 4 * big, n_out) == lib.WS_ERR_RANGE
    assert lib.ws_ecg_process(st, raw, 360, out, 200, n_out) == lib.WS_ERR_ARG
    assert lib.ws_ecg_process(st, ffi.NULL, 10, out, 100, n_out) == lib.WS_ERR_ARG
    assert lib.ws_ecg_process(st, raw, 0, ffi.NULL, 0, n_out) == lib.WS_OK
    assert lib.ws_ecg_process(st, raw, 360, out, 251, n_out) == lib.WS_OK
    assert n_out[0] == 250
    assert lib.ws_ecg_read_beats(ffi.NULL, ffi.NULL, 4) == 0


def test_c_api_misuse_returns_status() -> None:
    from wearsense.firmware import core

    _c_calls(core())


@pytest.mark.sanitized
def test_chain_under_sanitizers(asan_core: Any) -> None:
    _c_calls(asan_core)
    rng = np.random.default_rng(2)
    raw = np.round(rng.standard_normal(360 * 30) * 300).astype(np.int16)
    raw[1000:3000] = 32767  # rails, spikes, silence
    raw[5000:6000] = 0
    a = run_chain(raw, 360, 200.0, module=asan_core)
    b = run_chain(raw, 360, 200.0, block=333, module=asan_core)
    _same(a, b)
    # the most extreme input the checks let through: full-scale square wave, tiny gain
    square = np.tile(np.array([-32768, 32767], dtype=np.int16).repeat(7), 2000)
    for normalised in (False, True):
        out = run_chain(square, 360, 0.1, module=asan_core, normalised=normalised)
        assert out.quality.flags.all()
    for fs in (100, 125, 200, 250, 300, 360, 400, 500, 1000, 2000):
        out = run_chain(raw[: fs * 4], fs, 200.0, module=asan_core, normalised=True)
        assert abs(len(out.signal) - 4 * RATE_HZ) <= 1


@needs_data
def test_cinc_record_runs_at_300_hz() -> None:
    rec = cinc2017.load_record("A00004", data_dir=ROOT)
    out = run_chain(rec.signal, rec.fs, rec.adc_gain)
    assert abs(len(out.signal) - rec.duration_s * RATE_HZ) <= 1
    hr = 60000 / np.median(out.beats.rr_ms[1:])
    assert 40 < hr < 200
    assert detect_record is not None


@needs_data
def test_quality_flags_separate_cinc_noisy_records() -> None:
    from wearsense.ecg.quality import score_cinc

    score = score_cinc(("validation",), ROOT)
    assert score.n_noisy >= 20 and score.n_clean >= 200
    assert score.clean_flagged < 0.15
    assert score.noisy_flagged > 4 * score.clean_flagged


@needs_data
def test_qrs_agrees_with_neurokit_on_real_cinc_records() -> None:
    """neurokit2's own R-peak detector as an independent reference on real AliveCor
    ECGs (N and AF records of the train split), away from the edges."""
    nk = pytest.importorskip("neurokit2")
    from wearsense.datasets.splits import load_split

    labels = cinc2017.read_labels(ROOT)
    ids = [r for r in load_split("cinc2017")["train"] if labels[r] in ("N", "A")][:12]
    n_ref = missed = extra = 0
    for rid in ids:
        rec = cinc2017.load_record(rid, labels[rid], ROOT)
        _, info = nk.ecg_peaks(rec.signal / rec.adc_gain, sampling_rate=rec.fs)
        ref = np.asarray(info["ECG_R_Peaks"]) / rec.fs
        det = run_chain(rec.signal, rec.fs, rec.adc_gain).beat_times_s()
        ref_ok, det_ok = match_beats(ref, det)
        end = rec.duration_s - 2.0
        inner_ref, inner_det = (ref > 2.0) & (ref < end), (det > 2.0) & (det < end)
        n_ref += int(inner_ref.sum())
        missed += int((~ref_ok[inner_ref]).sum())
        extra += int((~det_ok[inner_det]).sum())
    assert n_ref > 300
    assert missed / n_ref < 0.03 and extra / n_ref < 0.03, (n_ref, missed, extra)


@needs_data
def test_preprocess_moves_rhythm_labels_onto_the_output_timeline() -> None:
    from wearsense.ecg.preprocess import preprocess_cinc, preprocess_mitdb

    rec = mitdb.load_record("221", ROOT)
    out, intervals = preprocess_mitdb(rec)
    assert len(out.signal) == pytest.approx(rec.n_samples / rec.fs * RATE_HZ, abs=1)
    afib = sum(i.end - i.start for i in intervals if i.label == "AFIB") / RATE_HZ
    ref = sum(r.end - r.start for r in rec.rhythms if r.label == "AFIB") / rec.fs
    assert afib == pytest.approx(ref, abs=0.1)
    # a beat inside an AFIB interval in input time is inside it on the output timeline
    beat = rec.beat_samples[len(rec.beat_samples) // 2]
    label = rec.rhythm_at(int(beat))
    k = round((beat / rec.fs + out.delay_s) * RATE_HZ)
    assert [i.label for i in intervals if i.start <= k < i.end] == [label]
    cinc = preprocess_cinc(cinc2017.load_record("A00004", data_dir=ROOT))
    assert np.abs(cinc.signal).max() <= 32767 and len(cinc.beats.sample) > 20
