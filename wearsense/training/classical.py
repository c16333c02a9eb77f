"""The classical baselines of ``../shared/BASELINES.md``, re-run on our own splits
(`wearsense baseline afib|activity`).

BASELINES.md measures what a practitioner gets without us on people outside ``data/``, so
its figures and ours come from different records. These are the same recipes, trained on
the committed training split and scored on the same held-out records or subjects as
`wearsense evaluate`, so the int8 models can be compared with them one to one:

* **afib**: neurokit2 R peaks on each whole CinC record (300 Hz, float), 22 RR-interval
  features, 11 signal-quality features and 6 of the median beat's shape, then gradient
  boosting (scikit-learn). Its settings are chosen from a small grid on the validation
  records, by F1(AF) + mean F1(N, A, O), as the int8 models' design choices were.
* **fall**: per trial, the 2.56 s around the recording's largest |a| (the C resampler's
  50 Hz stream), the activity features of that window plus the peak, free fall and
  stillness after it, then a random forest; trained on the fall model's training subjects
  (SisFall, UMAFall waist and chest, UCI HAPT daily living), scored per held-out trial.
  It looks at every trial's own peak, so it measures no false alarms per hour.
* **activity**: hand-made features (time, frequency, axis correlations, gravity
  direction; 495 per window) of the device's own 2.56-s IMU windows (the C front end's
  int8 output, the windows the activity model classifies), then a random forest of 500
  trees; UCI HAPT's training users, its six basic activities, scored on its held-out users.

Both run in floating point on the host: they are the bar, not something the device runs.
The report has the evaluation schema (`wearsense.training.evaluation`) with ``method`` in
place of a model hash.
"""

from __future__ import annotations

import importlib
import os
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from tqdm import tqdm

from wearsense.datasets import cinc2017
from wearsense.datasets.common import DatasetError
from wearsense.datasets.imu import Position, recordings
from wearsense.firmware.imu import resample
from wearsense.training import activity, afib, fall
from wearsense.training.imu_task import (
    held_out_subjects,
    load_trials,
    present,
    split_ids,
    stack,
)
from wearsense.training.metrics import classification_report

DataDir = str | os.PathLike[str] | None

RR_NAMES = (
    "beats", "mean_ms", "median_ms", "sd_ms", "cv", "rmssd_ms", "rmssd_rel", "pnn50",
    "pnn20", "min_ms", "max_ms", "max_rel", "min_rel", "masd_rel", "iqr_rel", "skew",
    "kurtosis", "over_eighth", "turning", "short_long", "heart_rate", "duration_s",
)  # fmt: skip
QUALITY_NAMES = (
    "psqi", "bassqi", "hf_power", "kurtosis_signal", "skew_signal", "spectral_entropy",
    "dominant_hz", "beat_corr_mean", "beat_corr_min", "beat_corr_low", "r_amp_cv",
)  # fmt: skip
SHAPE_NAMES = ("qrs_width_ms", "p_amp", "p_energy", "t_amp", "r_amp", "trough")
ECG_FEATURES = RR_NAMES + QUALITY_NAMES + SHAPE_NAMES
# (learning rate, boosting rounds, depth) tried on the validation records
AFIB_GRID = ((0.05, 200, 3), (0.1, 300, 3), (0.05, 300, None), (0.1, 300, None))
ACTIVITY_SIX = ("walk", "upstairs", "downstairs", "sit", "stand", "lie")
ACTIVITY_TREES = 500
_BANDS = ((1, 3), (3, 6), (6, 10), (10, 16), (16, 24), (24, 40), (40, 65))  # FFT bins


def _need_sklearn(*also: str) -> Any:
    """sklearn.ensemble, after checking that ``also`` (e.g. neurokit2) import too."""
    try:
        for name in also:
            importlib.import_module(name)
        import sklearn.ensemble
    except ImportError as exc:  # pragma: no cover - installed with the train extra
        raise RuntimeError(
            f"the classical baselines need {exc.name}: pip install -e '.[train]'"
        ) from exc
    return sklearn.ensemble


def ecg_features(signal_mv: np.ndarray, fs: int) -> np.ndarray:
    """The ``ECG_FEATURES`` of one whole recording (float, NaN where undefined: fewer
    than 4 usable intervals, or too few beats for a median beat)."""
    import neurokit2 as nk
    from scipy import signal as sps
    from scipy import stats

    x = np.asarray(signal_mv, float)
    out: dict[str, Any] = dict.fromkeys(ECG_FEATURES, np.nan)
    out["duration_s"] = len(x) / fs
    if len(x) < 2 * fs or not np.all(np.isfinite(x)):
        return np.array([out[k] for k in ECG_FEATURES])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = np.asarray(nk.ecg_clean(x, sampling_rate=fs, method="neurokit"), float)
        try:
            _, info = nk.ecg_peaks(clean, sampling_rate=fs, method="neurokit")
            peaks = np.asarray(info["ECG_R_Peaks"], int)
        except (ValueError, IndexError, ZeroDivisionError):  # a flat or broken record
            peaks = np.zeros(0, int)
    rr = np.diff(peaks) / fs * 1000.0
    rr = rr[(rr > 240) & (rr < 3000)]
    out["beats"] = len(rr)
    if len(rr) >= 4:
        mean, med, d = rr.mean(), np.median(rr), np.diff(rr)
        with warnings.catch_warnings():  # equal intervals: skew and kurtosis are undefined
            warnings.simplefilter("ignore")
            shape = (stats.skew(rr), stats.kurtosis(rr))
        out.update(
            mean_ms=mean, median_ms=med, sd_ms=rr.std(), cv=rr.std() / mean,
            rmssd_ms=np.sqrt(np.mean(d**2)), rmssd_rel=np.sqrt(np.mean(d**2)) / mean,
            pnn50=np.mean(np.abs(d) > 50), pnn20=np.mean(np.abs(d) > 20), min_ms=rr.min(),
            max_ms=rr.max(), max_rel=rr.max() / med, min_rel=rr.min() / med,
            masd_rel=np.mean(np.abs(d)) / mean,
            iqr_rel=(np.percentile(rr, 75) - np.percentile(rr, 25)) / med,
            skew=shape[0], kurtosis=shape[1],
            over_eighth=np.mean(np.abs(d) > rr[1:] / 8), turning=np.mean(d[1:] * d[:-1] < 0),
            short_long=np.mean((rr[:-1] < 0.85 * med) & (rr[1:] > 1.15 * med)),
            heart_rate=60000.0 / med,
        )  # fmt: skip
    freq, power = sps.welch(clean, fs, nperseg=min(1024, len(clean)))
    band = power[(freq > 0.5) & (freq < 45)]
    total = band.sum() + 1e-12
    share = band / total
    out.update(
        psqi=power[(freq > 5) & (freq < 15)].sum() / total,
        bassqi=power[freq < 1].sum() / (power[freq < 40].sum() + 1e-12),
        hf_power=power[freq > 40].sum() / (power.sum() + 1e-12),
        kurtosis_signal=stats.kurtosis(clean), skew_signal=stats.skew(clean),
        spectral_entropy=-np.sum(share * np.log(share + 1e-12)),
        dominant_hz=freq[np.argmax(power * (freq > 0.5))],
    )  # fmt: skip
    out.update(_beat_shape(clean, peaks, fs))
    return np.array([out[k] for k in ECG_FEATURES], float)


def _beat_shape(clean: np.ndarray, peaks: np.ndarray, fs: int) -> dict[str, float]:
    """How alike the beats are, and the median beat's QRS width, P, T and trough."""
    before, after = int(0.25 * fs), int(0.45 * fs)
    inside = peaks[(peaks > before) & (peaks < len(clean) - after)]
    if len(inside) < 3:
        return {}
    beats = np.stack([clean[i - before : i + after] for i in inside])
    median = np.median(beats, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.array([np.corrcoef(b, median)[0, 1] for b in beats])
    amps = clean[inside]
    beat = median - np.median(median)
    r = beat[before]
    beat = beat if r >= 0 else -beat
    r_amp = abs(r) + 1e-9
    above = beat > 0.5 * r_amp
    left = right = before
    while left > 0 and above[left - 1]:
        left -= 1
    while right < len(beat) - 1 and above[right + 1]:
        right += 1
    p = beat[before - int(0.22 * fs) : before - int(0.08 * fs)]
    t = beat[before + int(0.15 * fs) : before + int(0.40 * fs)]
    return {
        "beat_corr_mean": float(np.nanmean(corr)) if np.isfinite(corr).any() else np.nan,
        "beat_corr_min": float(np.nanmin(corr)) if np.isfinite(corr).any() else np.nan,
        "beat_corr_low": float(np.mean(corr < 0.8)),
        "r_amp_cv": float(amps.std() / (abs(amps.mean()) + 1e-9)),
        "qrs_width_ms": (right - left) / fs * 1000.0,
        "p_amp": float((p.max() - np.median(p)) / r_amp),
        "p_energy": float(np.sum((p - p.mean()) ** 2) / (r_amp**2 * len(p))),
        "t_amp": float((t.max() - t.min()) / r_amp),
        "r_amp": float(r_amp),
        "trough": float(beat.min() / r_amp),
    }


def _record_matrix(
    ids: Sequence[str], data_dir: DataDir, desc: str, progress: bool
) -> tuple[np.ndarray, np.ndarray]:
    rows, codes = [], []
    records = cinc2017.iter_records(list(ids), data_dir)
    for record in tqdm(records, total=len(ids), desc=desc, unit="rec", disable=not progress):
        rows.append(ecg_features(record.signal / record.adc_gain, record.fs))
        codes.append(afib.CINC_CLASS[record.label])
    return np.array(rows, float).reshape(len(rows), len(ECG_FEATURES)), np.array(codes)


def _afib_score(truth: np.ndarray, predicted: np.ndarray) -> float:
    """F1(AF) + mean F1 over normal, af, other: how the int8 models were chosen."""
    per = classification_report(truth, predicted, ("normal", "af", "other", "noisy"), bootstrap=0)
    f1 = {k: v["f1"] for k, v in per["per_class"].items()}
    return float(f1["af"] + np.mean([f1["normal"], f1["af"], f1["other"]]))


def baseline_afib(
    data_dir: DataDir = None,
    bootstrap: int = 1000,
    progress: bool = True,
    limit: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The classical AFib recipe on the held-out CinC records (``limit``: at most that many
    records of each part, in split order: for quick checks)."""
    ensemble = _need_sklearn("neurokit2")
    parts = afib.load_split_ids()
    test_ids = afib.held_out_records(data_dir)
    if not test_ids:
        raise DatasetError(cinc2017.record_dir(data_dir), "no held-out CinC records")
    train_ids, val_ids = parts["train"], parts["validation"]
    if limit is not None:
        train_ids, val_ids, test_ids = train_ids[:limit], val_ids[:limit], test_ids[:limit]
    x_train, y_train = _record_matrix(train_ids, data_dir, "features: training", progress)
    x_val, y_val = _record_matrix(val_ids, data_dir, "features: validation", progress)
    x_test, y_test = _record_matrix(test_ids, data_dir, "features: held out", progress)

    def model(setting: tuple[float, int, int | None]) -> Any:
        rate, rounds, depth = setting
        return ensemble.HistGradientBoostingClassifier(
            learning_rate=rate, max_iter=rounds, max_depth=depth, random_state=seed
        )

    scores = [_afib_score(y_val, model(s).fit(x_train, y_train).predict(x_val)) for s in AFIB_GRID]
    chosen = AFIB_GRID[int(np.argmax(scores))]
    predicted = model(chosen).fit(x_train, y_train).predict(x_test)
    report = classification_report(
        y_test, predicted, afib.LABELS, units=list(test_ids), bootstrap=bootstrap, seed=seed
    )
    nao = [report["per_class"][k]["f1"] for k in ("normal", "af", "other")]
    return {
        "task": "afib",
        "runtime": "scikit-learn on the host (float), not the device",
        "method": "neurokit2 R peaks -> 22 RR + 11 signal-quality + 6 beat-shape features "
        "per whole record -> gradient boosting (HistGradientBoostingClassifier)",
        "setting": {"learning_rate": chosen[0], "max_iter": chosen[1], "max_depth": chosen[2]},
        "validation_score_f1af_plus_nao": dict(zip(map(str, AFIB_GRID), scores, strict=True)),
        "trained_on": {"records": len(train_ids), "validation_records": len(val_ids)},
        "units": len(test_ids),
        **report,
        "macro_f1_nao": float(np.mean(nao)),
        "per_dataset": {"cinc2017": {"units": len(test_ids), **report}},
    }


def imu_features(windows: np.ndarray) -> np.ndarray:
    """Hand-made features of IMU windows [N, 128, 7] in the front end's frame layout
    (docs/imu-front-end.md: acc x, y, z, |a| - 1 g, gyro x, y, z; int8 as the device makes
    them, or float in any units): per signal (acc, body acc, gyro per axis; body jerk per
    axis; |acc|, |body acc|, |gyro| and the frame's |a| channel) 14 time-domain, 5 spectral,
    7 band powers and 4 autoregressive coefficients; then the gravity direction and the axis
    correlations."""
    from scipy import signal as sps

    x = np.asarray(windows, float)
    if x.ndim != 3 or x.shape[2] != 7:
        raise ValueError(f"expected windows [N, T, 7], got shape {x.shape}")
    acc, gyro = x[:, :, 0:3], x[:, :, 4:7]
    b, a = sps.butter(3, 0.3 / 25.0, "low")  # gravity: below 0.3 Hz at 50 Hz
    gravity = sps.filtfilt(b, a, acc, axis=1) if x.shape[1] > 12 else acc.mean(1, keepdims=True)
    body = acc - gravity
    jerk = np.diff(body, axis=1, prepend=body[:, :1])
    signals = [acc[:, :, i] for i in range(3)] + [body[:, :, i] for i in range(3)]
    signals += [gyro[:, :, i] for i in range(3)] + [jerk[:, :, i] for i in range(3)]
    signals += [np.linalg.norm(v, axis=2) for v in (acc, body, gyro)] + [x[:, :, 3]]
    columns = [_signal_features(s) for s in signals]
    g = gravity.mean(axis=1)
    g = g / (np.linalg.norm(g, axis=1, keepdims=True) + 1e-9)
    corr = []
    for v in (acc, body, gyro):
        c = v - v.mean(axis=1, keepdims=True)
        for i, j in ((0, 1), (0, 2), (1, 2)):
            den = np.sqrt((c[:, :, i] ** 2).sum(1) * (c[:, :, j] ** 2).sum(1)) + 1e-9
            corr.append((c[:, :, i] * c[:, :, j]).sum(1) / den)
    return np.hstack(columns + [g, np.arccos(np.clip(g, -1, 1)), np.stack(corr, axis=1)])


def _signal_features(s: np.ndarray) -> np.ndarray:
    from scipy import stats

    centred = s - s.mean(axis=1, keepdims=True)
    d = np.diff(s, axis=1)
    with warnings.catch_warnings():  # a constant signal: skew and kurtosis are NaN
        warnings.simplefilter("ignore")
        time_domain = [
            s.mean(1), s.std(1), np.median(np.abs(s - np.median(s, 1, keepdims=True)), 1),
            s.max(1), s.min(1), (s**2).mean(1), stats.iqr(s, axis=1),
            np.nan_to_num(stats.skew(s, 1)), np.nan_to_num(stats.kurtosis(s, 1)),
            np.percentile(s, 10, 1), np.percentile(s, 90, 1), np.abs(d).mean(1), d.std(1),
            (np.diff(np.sign(centred), axis=1) != 0).mean(1),
        ]  # fmt: skip
        mag = np.abs(np.fft.rfft(centred, axis=1))[:, 1:]
        power = mag**2
        share = power / (power.sum(1, keepdims=True) + 1e-12)
        bins = np.arange(1, power.shape[1] + 1)
        spectral = [
            share.argmax(1), (share * bins).sum(1), -(share * np.log(share + 1e-12)).sum(1),
            np.nan_to_num(stats.skew(mag, 1)), np.nan_to_num(stats.kurtosis(mag, 1)),
        ]  # fmt: skip
    bands = [power[:, lo - 1 : hi - 1].sum(1) for lo, hi in _BANDS]
    lags = 4
    rows = np.stack([centred[:, lags - k : s.shape[1] - k] for k in range(1, lags + 1)], axis=2)
    ar = np.zeros((len(s), lags))
    for n in range(len(s)):
        if centred[n].std() > 0:
            ar[n] = np.linalg.lstsq(rows[n], centred[n, lags:], rcond=None)[0]
    return np.hstack([np.stack(time_domain + spectral + bands, axis=1), ar])


def baseline_activity(
    data_dir: DataDir = None,
    bootstrap: int = 1000,
    progress: bool = True,
    subjects_limit: int | None = None,
    trees: int = ACTIVITY_TREES,
    seed: int = 0,
) -> dict[str, Any]:
    """The classical activity recipe: UCI HAPT training users -> its held-out users, the
    six basic activities (``subjects_limit``: at most that many users of each part)."""
    ensemble = _need_sklearn()
    train_ids = split_ids("uci-hapt", ("train",))
    test_ids = held_out_subjects("uci-hapt", data_dir)
    if not test_ids:
        raise DatasetError(str(data_dir or "../shared/data"), "no held-out UCI HAPT users")
    if subjects_limit is not None:
        train_ids, test_ids = train_ids[:subjects_limit], test_ids[:subjects_limit]
    six = np.array([activity.LABELS.index(k) for k in ACTIVITY_SIX])

    def windows(ids: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        trials = load_trials("uci-hapt", data_dir, ids, None, progress)
        x, y = stack(trials, "activity")
        units = [t.subject for t in trials for _ in range(len(t.activity.labels))]
        keep = np.isin(y, six)
        return x[keep], y[keep], [u for u, k in zip(units, keep, strict=True) if k]

    x_train, y_train, _ = windows(train_ids)
    x_test, y_test, units = windows(test_ids)
    forest = ensemble.RandomForestClassifier(trees, n_jobs=-1, random_state=seed)
    forest.fit(imu_features(x_train), y_train)
    predicted = forest.predict(imu_features(x_test))
    remap = {int(code): i for i, code in enumerate(six)}
    report = classification_report(
        [remap[int(v)] for v in y_test],
        [remap[int(v)] for v in predicted],
        ACTIVITY_SIX,
        units=units,
        bootstrap=bootstrap,
        seed=seed,
    )
    return {
        "task": "activity",
        "runtime": "scikit-learn on the host (float), not the device",
        "method": f"495 hand-made features of the device's 2.56-s IMU windows -> random forest "
        f"({trees} trees)",
        "trained_on": {"uci-hapt users": len(train_ids), "windows": len(y_train)},
        "units": len(set(units)),
        **report,
        "uci_hapt_six_basic_accuracy": report["accuracy"],
        "per_dataset": {"uci-hapt": {"units": len(set(units)), **report}},
    }


FALL_SOURCES = (("sisfall", None), ("umafall", ("waist", "chest")), ("uci-hapt", None))
FALL_TREES = 500


def peak_window(six_axis_50hz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the [128, 7] window around the largest |a|, in the front end's frame layout but
    float: acc in g, |a| - 1 g, gyro in deg/s; 4 features of the whole stream around it:
    peak |a|, lowest |a| in the 1 s before (free fall), |a| spread from 1 s to 3 s after
    (stillness), and the recording's median |a|)."""
    x = np.asarray(six_axis_50hz, float)
    if x.ndim != 2 or x.shape[1] != 6 or len(x) == 0:
        raise ValueError(f"expected a (n, 6) stream, got shape {x.shape}")
    mag = np.linalg.norm(x[:, :3], axis=1)
    peak = int(np.argmax(mag))
    index = np.clip(np.arange(peak - 64, peak + 64), 0, len(x) - 1)  # edges held
    window = np.hstack([x[index, :3], mag[index, None] - 1.0, x[index, 3:]])
    before = mag[max(0, peak - 50) : peak + 1]
    after = mag[peak + 50 : peak + 150]
    extra = np.array(
        [
            mag[peak],
            before.min(),
            after.std() if len(after) > 1 else np.nan,
            float(np.median(mag)),
        ]
    )
    return window, extra


class PeakTrial(NamedTuple):
    """One recording as the classical fall recipe sees it (`peak_window`)."""

    dataset: str
    subject: str
    position: str
    fall: int  # FallClass of the trial
    window: np.ndarray  # [128, 7] around the largest |a|
    extra: np.ndarray  # peak, free fall, stillness, median |a|


def _fall_trials(
    dataset: str,
    data_dir: DataDir,
    subject_ids: list[str],
    positions: Sequence[str] | None,
    progress: bool,
) -> list[PeakTrial]:
    """One `PeakTrial` per recording."""
    chosen = {Position(p) for p in positions} if positions is not None else None
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # unusable UMAFall streams are left out
        for rec in recordings(
            dataset, data_dir, subject_ids=subject_ids, positions=chosen, progress=progress
        ):
            stream = resample(rec.six_axis(), rec.rate_hz)
            if len(stream) == 0:
                continue
            window, extra = peak_window(stream)
            out.append(
                PeakTrial(dataset, rec.subject, rec.position.value, int(rec.fall), window, extra)
            )
    return out


def _fall_matrix(rows: Sequence[PeakTrial]) -> np.ndarray:
    windows = np.stack([r.window for r in rows])
    return np.hstack([imu_features(windows), np.stack([r.extra for r in rows])])


def baseline_fall(
    data_dir: DataDir = None,
    bootstrap: int = 1000,
    progress: bool = True,
    subjects_limit: int | None = None,
    trees: int = FALL_TREES,
    seed: int = 0,
) -> dict[str, Any]:
    """The classical fall recipe, per trial: the fall model's training subjects -> every
    held-out subject's trials (top level and ``per_dataset``: the device's placements;
    ``per_position``: every unit, wrist and ankle included)."""
    ensemble = _need_sklearn()
    train: list[PeakTrial] = []
    test: list[PeakTrial] = []
    for dataset, positions in FALL_SOURCES:
        if not present(dataset, data_dir):
            continue
        ids = split_ids(dataset, ("train",))
        held = held_out_subjects(dataset, data_dir)
        if subjects_limit is not None:
            ids, held = ids[:subjects_limit], held[:subjects_limit]
        train += _fall_trials(dataset, data_dir, ids, positions, progress)
        test += _fall_trials(dataset, data_dir, held, None, progress)
    if not test or not train:
        raise DatasetError(str(data_dir or "../shared/data"), "no held-out fall trials")
    forest = ensemble.RandomForestClassifier(trees, n_jobs=-1, random_state=seed)
    forest.fit(_fall_matrix(train), [r.fall for r in train])
    predicted = forest.predict(_fall_matrix(test))

    def entry(index: Sequence[int]) -> dict[str, Any]:
        truth = np.array([test[i].fall for i in index])
        called = np.array([predicted[i] for i in index])
        report = classification_report(
            truth,
            called,
            fall.LABELS,
            units=[f"{test[i].dataset}/{test[i].subject}" for i in index],
            bootstrap=bootstrap,
            seed=seed,
        )
        falls = truth == 1
        return {
            "units": len({(test[i].dataset, test[i].subject) for i in index}),
            **report,
            "fall_trials": int(falls.sum()),
            "adl_trials": int((~falls).sum()),
            "sensitivity": float((called[falls] == 1).mean()) if falls.any() else None,
            "specificity": float((called[~falls] == 0).mean()) if (~falls).any() else None,
        }

    device = [i for i, r in enumerate(test) if r.position in ("waist", "chest")]
    report: dict[str, Any] = {
        "task": "fall",
        "runtime": "scikit-learn on the host (float), not the device",
        "method": "per trial: the 2.56 s around the largest |a| (C resampler, 50 Hz), its "
        f"window features + peak, free fall and stillness -> random forest ({trees} trees)",
        "scope": "held-out subjects, one decision per trial at its own largest |a| (no "
        "trigger, so no false alarms per hour); top level and per_dataset: waist and chest",
        "trained_on": {"trials": len(train), "falls": sum(r.fall for r in train)},
        **entry(device),
        "per_dataset": {},
        "per_position": {},
    }
    for dataset in sorted({test[i].dataset for i in device}):
        report["per_dataset"][dataset] = entry([i for i in device if test[i].dataset == dataset])
    for key in sorted({f"{r.dataset}/{r.position}" for r in test}):
        report["per_position"][key] = entry(
            [i for i, r in enumerate(test) if f"{r.dataset}/{r.position}" == key]
        )
    return report
