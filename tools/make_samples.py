"""Cut the short real sample recordings shipped in ``samples/data`` from the full datasets.

Only datasets whose licence allows redistribution are used (MIT-BIH: ODC-By 1.0; UMAFall:
CC BY 4.0); SisFall and UCI-HAPT are never copied. The output has the same layout as
``../shared/data`` so every loader, ``wearsense replay`` and the emulator read it with
``--data-dir samples/data``. Run from the repository root:

    python tools/make_samples.py [--data-dir ../shared/data] [--out samples/data]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

# MIT-BIH record 219 from 303.3 s: 23 s of sinus rhythm, then atrial fibrillation.
MITDB_RECORD = "219"
MITDB_START_S = 303.3
MITDB_SECONDS = 180.0

# UMAFall subject 06 (a test-split subject): daily activities and a forward fall.
UMAFALL_FILES = [
    "UMAFall_Subject_06_ADL_Walking_1_2016-06-13_21-11-08.csv.xz",
    "UMAFall_Subject_06_ADL_Jogging_1_2016-06-13_21-31-03.csv.xz",
    "UMAFall_Subject_06_ADL_Sitting_GettingUpOnAChair_1_2016-06-13_21-28-52.csv.xz",
    "UMAFall_Subject_06_ADL_LyingDown_OnABed_1_2016-06-13_21-24-41.csv.xz",
    "UMAFall_Subject_06_Fall_forwardFall_2_2016-06-13_21-40-45.csv.xz",
]


def cut_mitdb(src: Path, out: Path) -> None:
    import wfdb

    base = src / "mitdb" / MITDB_RECORD
    rec = wfdb.rdrecord(str(base), physical=False)
    first = int(round(MITDB_START_S * rec.fs))
    last = first + int(round(MITDB_SECONDS * rec.fs))
    dest = out / "mitdb"
    dest.mkdir(parents=True, exist_ok=True)
    wfdb.wrsamp(
        MITDB_RECORD,
        fs=rec.fs,
        units=rec.units,
        sig_name=rec.sig_name,
        d_signal=rec.d_signal[first:last].astype(np.int32),
        fmt=rec.fmt,
        adc_gain=rec.adc_gain,
        baseline=rec.baseline,
        comments=[f"excerpt of MIT-BIH record {MITDB_RECORD}: samples {first}..{last - 1}"],
        write_dir=str(dest),
    )
    ann = wfdb.rdann(str(base), "atr")
    keep = (ann.sample >= first) & (ann.sample < last)
    samples = ann.sample[keep] - first
    symbols = list(np.asarray(ann.symbol)[keep])
    aux = list(np.asarray(ann.aux_note, dtype=object)[keep])
    # The rhythm in force at the cut is restated at sample 0, as a rhythm annotation.
    rhythms = zip(ann.sample, ann.aux_note, strict=True)
    before = [(s, n) for s, n in rhythms if s < first and n.startswith("(")]
    if before:
        samples = np.concatenate([[0], samples])
        symbols = ["+", *symbols]
        aux = [before[-1][1], *aux]
    wfdb.wrann(
        MITDB_RECORD,
        "atr",
        sample=np.asarray(samples, dtype=np.int64),
        symbol=symbols,
        aux_note=[str(a) for a in aux],
        fs=rec.fs,
        write_dir=str(dest),
    )
    (dest / "RECORDS").write_text(MITDB_RECORD + "\n")


def copy_umafall(src: Path, out: Path) -> None:
    dest = out / "umafall" / "UMAFall_Dataset"
    dest.mkdir(parents=True, exist_ok=True)
    for name in UMAFALL_FILES:
        shutil.copyfile(src / "umafall" / "UMAFall_Dataset" / name, dest / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("samples/data"))
    args = parser.parse_args()
    cut_mitdb(args.data_dir, args.out)
    copy_umafall(args.data_dir, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
