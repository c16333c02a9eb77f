"""Reading one WFDB record through the ``wfdb`` package, with every failure turned
into a DatasetError that names the file."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wearsense.datasets.common import DatasetError


@dataclass(frozen=True)
class WfdbSignals:
    header: Path
    fs: float
    names: list[str]
    gains: list[float]
    baselines: list[int]
    adc_res: list[int]
    signals: npt.NDArray[np.int16]  # (samples, channels), ADC units


def wfdb_module() -> Any:
    """The wfdb package, imported without the pandas 3.1 deprecation warnings its annotation
    tables raise (``set_index(inplace=True)``, on import and in ``rdann``; pyproject pins
    pandas < 4, where it still works). Call its readers inside ``quiet_wfdb()`` too."""
    with quiet_wfdb():
        import wfdb
    return wfdb


@contextlib.contextmanager
def quiet_wfdb() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*inplace keyword")
        yield


def read_wfdb(base: Path) -> WfdbSignals:
    """Digital (ADC) samples of the record ``base`` (path without extension)."""
    wfdb = wfdb_module()

    header = base.with_suffix(".hea")
    if not header.is_file():
        raise DatasetError(header, "WFDB header is missing")
    try:
        rec = wfdb.rdrecord(str(base), physical=False)
    except FileNotFoundError as exc:
        raise DatasetError(exc.filename or header, "WFDB signal file is missing") from exc
    except Exception as exc:  # wfdb raises many types for damaged files
        raise DatasetError(
            header, f"cannot read WFDB record ({type(exc).__name__}: {exc})"
        ) from exc
    data = rec.d_signal
    if data is None or data.ndim != 2 or data.shape[0] == 0:
        raise DatasetError(header, "WFDB record holds no samples")
    if data.shape[0] != rec.sig_len:
        raise DatasetError(
            header, f"header promises {rec.sig_len} samples, file holds {data.shape[0]}"
        )
    if data.min() < np.iinfo(np.int16).min or data.max() > np.iinfo(np.int16).max:
        raise DatasetError(header, "samples do not fit 16 bits")
    gains = [float(g) for g in rec.adc_gain]
    if any(not g > 0 for g in gains):
        raise DatasetError(header, f"ADC gain must be positive, got {gains}")
    return WfdbSignals(
        header=header,
        fs=float(rec.fs),
        names=list(rec.sig_name),
        gains=gains,
        baselines=[int(b) for b in rec.baseline],
        adc_res=[int(r) for r in rec.adc_res],
        signals=data.astype(np.int16),
    )
