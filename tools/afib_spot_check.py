"""The AFib model as a spot-check device: each CinC 2017 record of a split is fed to a fresh
emulated wearable (the firmware's C app) after a START_RECORDING as long as the record's
windows, and the device's one ECG_RECORDING verdict is scored against the record's label
and compared with the verdict `wearsense evaluate afib` gives the same record
(docs/detectors.md, "On-demand recording").

    python tools/afib_spot_check.py test [--model models/afib/afib.tflite] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    from wearsense import protocol
    from wearsense.datasets import DatasetError, cinc2017
    from wearsense.emulator.device import Wearable
    from wearsense.firmware.nn import NNModel
    from wearsense.training import afib
    from wearsense.training.metrics import classification_report

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("split", choices=("train", "validation", "test"))
    parser.add_argument("--model", default=str(REPO / "models" / "afib" / "afib.tflite"))
    parser.add_argument(
        "--data-dir", help="data folder (default: $WEARSENSE_DATA or ../shared/data)"
    )
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()
    try:
        blob = Path(args.model).read_bytes()
        ids = (
            afib.held_out_records(args.data_dir)
            if args.split == "test"
            else afib.load_split_ids()[args.split]
        )
        labels = cinc2017.read_labels(args.data_dir)
        model = NNModel(blob, "afib")
        truth: list[int] = []
        predicted: list[int] = []
        evaluated: list[int] = []
        too_short = 0
        for rec in tqdm(cinc2017.iter_records(ids, args.data_dir), total=len(ids), unit="rec"):
            ecg = afib.record_input(rec)  # the same chain, to know the record's windows
            windows, seconds = afib.recording_for(ecg)
            if windows < 1:
                too_short += 1  # the evaluation pads such a record; the device cannot
                continue
            dev = Wearable("WS-SPOT", models={"afib": (blob, 1)})
            start = protocol.Command(protocol.Opcode.START_RECORDING, 1, {"duration_s": seconds})
            dev.command(start)
            dev.feed_ecg(rec.signal, int(rec.fs), adc_gain=rec.adc_gain, adc_zero=rec.adc_zero)
            found = [e for e in dev.detections() if isinstance(e, protocol.EcgRecording)]
            if not found:
                too_short += 1
                continue
            truth.append(afib.CINC_CLASS[labels[rec.record_id]])
            predicted.append(int(found[0].rhythm_class))
            evaluated.append(afib.record_verdict(model, ecg))
    except (OSError, DatasetError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not truth:
        print("error: no record long enough for one 10.24 s window", file=sys.stderr)
        return 2
    report = classification_report(truth, predicted, afib.LABELS, bootstrap=0)
    f1 = {k: round(v["f1"], 3) for k, v in report["per_class"].items()}
    summary = {
        "split": args.split,
        "records_judged": len(truth),
        "too_short": too_short,
        "same_verdict_as_evaluation": int(np.sum(np.array(predicted) == np.array(evaluated))),
        "f1": f1,
        "macro_f1_nao": round(float(np.mean([f1["normal"], f1["af"], f1["other"]])), 3),
    }
    print(json.dumps(summary))
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
