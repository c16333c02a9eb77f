"""MIT-BIH Arrhythmia Database (two-lead Holter, 360 Hz, 11-bit ADC).

Layout: ``<root>/mitdb/{NNN.hea, NNN.dat, NNN.atr[, RECORDS]}`` (without RECORDS, every
header present is a record). Beat annotations are the
``atr`` annotations whose symbol is a beat label (AAMI EC57); rhythm annotations are
the ``+`` annotations, whose ``aux_note`` (``(N``, ``(AFIB``, ``(AFL`` ...) holds from
its sample to the next rhythm annotation or the end of the record. Ventricular
flutter episodes (between ``[`` and ``]``) are returned as ``excluded`` intervals, which
EC57 leaves out of a QRS-detector evaluation.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wearsense.datasets.common import DatasetError, dataset_dir
from wearsense.datasets.wfdb_io import quiet_wfdb, read_wfdb, wfdb_module

NAME = "mitdb"
FS_HZ = 360
# Beat labels of the MIT-BIH annotation set (WFDB codes 1-13, 25, 30, 34, 35, 38).
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
PREFERRED_LEAD = "MLII"


@dataclass(frozen=True)
class RhythmInterval:
    """``label`` (``AFIB``, ``N`` ...) holds for samples ``start <= s < end``."""

    label: str
    start: int
    end: int


@dataclass(frozen=True)
class MitdbRecord:
    record_id: str
    fs: int
    lead_names: list[str]
    adc_gain: list[float]
    adc_zero: list[int]
    adc_bits: list[int]
    signals: npt.NDArray[np.int16]  # (samples, leads), ADC units
    beat_samples: npt.NDArray[np.int64]
    beat_symbols: list[str]
    rhythms: list[RhythmInterval]
    excluded: list[tuple[int, int]]

    @property
    def n_samples(self) -> int:
        return int(self.signals.shape[0])

    def lead_index(self, name: str = PREFERRED_LEAD) -> int:
        """Index of the lead ``name``; when the record lacks it (104, 102 have no MLII),
        the first lead."""
        return self.lead_names.index(name) if name in self.lead_names else 0

    def rhythm_at(self, sample: int) -> str | None:
        for interval in self.rhythms:
            if interval.start <= sample < interval.end:
                return interval.label
        return None


def record_ids(data_dir: str | os.PathLike[str] | None = None) -> list[str]:
    """The records present, from RECORDS (checked against the header files); without a
    RECORDS file, every ``*.hea`` in the folder, in name order."""
    folder = dataset_dir(NAME, data_dir)
    listing = folder / "RECORDS"
    if not listing.exists():
        names = sorted(p.stem for p in folder.glob("*.hea"))
        if not names:
            raise DatasetError(folder, "no RECORDS file and no .hea header files")
        return names
    try:
        names = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise DatasetError(listing, f"cannot read the record list ({exc.strerror})") from exc
    for name in names:
        if not (folder / f"{name}.hea").is_file():
            raise DatasetError(folder / f"{name}.hea", "listed in RECORDS but missing")
    return names


def load_record(record_id: str, data_dir: str | os.PathLike[str] | None = None) -> MitdbRecord:
    wfdb = wfdb_module()

    folder = dataset_dir(NAME, data_dir)
    wf = read_wfdb(folder / record_id)
    if int(wf.fs) != FS_HZ:
        raise DatasetError(wf.header, f"expected {FS_HZ} Hz, header says {wf.fs}")
    atr = folder / f"{record_id}.atr"
    if not atr.is_file():
        raise DatasetError(atr, "beat annotation file is missing")
    try:
        with quiet_wfdb():
            ann = wfdb.rdann(str(folder / record_id), "atr")
    except Exception as exc:
        raise DatasetError(atr, f"cannot read annotations ({type(exc).__name__}: {exc})") from exc
    samples = np.asarray(ann.sample, dtype=np.int64)
    symbols = list(ann.symbol)
    notes = [(n or "").rstrip("\x00").strip() for n in (ann.aux_note or [""] * len(symbols))]
    n = wf.signals.shape[0]
    if len(samples) and (samples.min() < 0 or samples.max() >= n):
        raise DatasetError(atr, f"annotation outside the record's {n} samples")
    is_beat = np.array([s in BEAT_SYMBOLS for s in symbols], dtype=bool)
    return MitdbRecord(
        record_id=record_id,
        fs=FS_HZ,
        lead_names=wf.names,
        adc_gain=wf.gains,
        adc_zero=wf.baselines,
        adc_bits=wf.adc_res,
        signals=wf.signals,
        beat_samples=samples[is_beat],
        beat_symbols=[s for s, b in zip(symbols, is_beat, strict=True) if b],
        rhythms=_rhythm_intervals(samples, symbols, notes, n),
        excluded=_flutter_intervals(samples, symbols, n),
    )


def _rhythm_intervals(
    samples: npt.NDArray[np.int64], symbols: list[str], notes: list[str], n: int
) -> list[RhythmInterval]:
    marks = [
        (int(s), note.lstrip("("))
        for s, sym, note in zip(samples, symbols, notes, strict=True)
        if sym == "+" and note.startswith("(")
    ]
    out = []
    for i, (start, label) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else n
        if end > start:
            out.append(RhythmInterval(label, start, end))
    return out


def _flutter_intervals(
    samples: npt.NDArray[np.int64], symbols: list[str], n: int
) -> list[tuple[int, int]]:
    out, start = [], None
    for s, sym in zip(samples, symbols, strict=True):
        if sym == "[":
            start = int(s)
        elif sym == "]" and start is not None:
            out.append((start, int(s)))
            start = None
    if start is not None:
        out.append((start, n))
    return out


def iter_records(
    ids: list[str] | None = None, data_dir: str | os.PathLike[str] | None = None
) -> Iterator[MitdbRecord]:
    for record_id in ids if ids is not None else record_ids(data_dir):
        yield load_record(record_id, data_dir)
