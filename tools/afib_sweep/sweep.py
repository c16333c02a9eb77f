"""Many AFib trainings at once on a machine that cannot build the firmware module (e.g. a
lent GPU machine with another Python and no package index): the ECG front end runs here,
the trainings run there on its saved output.

    python tools/afib_sweep/sweep.py prepare OUT.npz [--data-dir DIR]
        windows of the train and validation records through the device's C chain
        (the same int8 rows `wearsense train afib` builds), for the other machine
    python tools/afib_sweep/sweep.py job NAME CONFIG_JSON OUT_DIR --windows OUT.npz
        one `train_afib` (AfibTrainConfig fields as JSON, e.g. {"device": "cuda",
        "seed": 11}) on those rows; the int8 model's arena and MACs are left at 0
        there (no C interpreter) and are measured when the model comes back
    python tools/afib_sweep/sweep.py score MODEL.tflite ... [--data-dir DIR]
        validation F1(AF) and mean F1(N,A,O) of each int8 model on the C interpreter

run.sh runs the jobs of configs.json in parallel and tars the results.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def prepare(out: Path, data_dir: str | None) -> None:
    from wearsense.training import afib

    splits = afib.load_split_ids()
    arrays = {}
    for part in ("train", "validation"):
        records = afib.load_records(splits[part], data_dir, part)
        x, y, owner = records.window_arrays(afib.WINDOW + afib.RR_FEATURES)
        arrays.update(
            {
                f"{part}_x": x,
                f"{part}_y": y,
                f"{part}_owner": owner,
                f"{part}_labels": records.labels,
                f"{part}_ids": np.array(records.ids),
            }
        )
    np.savez_compressed(out, **arrays)
    print(f"wrote {out}")


def job(name: str, config_json: str, out: Path, windows: Path) -> None:
    import torch

    torch.set_num_threads(1)  # many jobs share the machine's cores
    torch.set_num_threads = lambda n: None  # type: ignore[assignment]
    from wearsense.datasets import cinc2017
    from wearsense.training import afib, pipeline

    saved = np.load(windows)

    class SavedRecords:
        def __init__(self, part: str) -> None:
            self.part = part
            self.ids = [str(i) for i in saved[f"{part}_ids"]]
            self.labels = saved[f"{part}_labels"]

        def window_arrays(self, length: int):  # noqa: ANN202
            return saved[f"{self.part}_x"][..., :length], *(
                saved[f"{self.part}_{k}"] for k in ("y", "owner")
            )

    parts = {p: SavedRecords(p) for p in ("train", "validation")}
    afib.load_split_ids = lambda: {p: r.ids for p, r in parts.items()}  # type: ignore[assignment]
    cinc2017.read_labels = lambda *_: {i: "" for r in parts.values() for i in r.ids}  # type: ignore[assignment]
    afib.load_records = lambda ids, *_: parts[  # type: ignore[assignment]
        "train" if set(ids) <= set(parts["train"].ids) else "validation"
    ]
    pipeline.model_sizes = lambda t: {"tflite_bytes": len(t), "arena_bytes": 0, "macs": 0}  # type: ignore[assignment]
    started = time.time()
    summary = afib.train_afib(
        out, None, afib.AfibTrainConfig(**json.loads(config_json)), show_progress=False
    )
    print(f"{name} done in {time.time() - started:.0f} s, offsets {summary['class_offsets']}")


def score(models: list[Path], data_dir: str | None) -> None:
    from wearsense.firmware.nn import NNModel
    from wearsense.training import afib

    ids = afib.load_split_ids()["validation"]
    records = afib.load_records(ids, data_dir, "validation")
    for path in models:
        model = NNModel(path.read_bytes())
        length = afib.model_length(model)
        probs = [afib.probabilities(model, afib.model_inputs(e, length)) for e in records.inputs]
        owner = np.concatenate([np.full(len(p), i) for i, p in enumerate(probs)])
        f1 = afib.record_scores(np.concatenate(probs), owner, records.labels)
        print(f"{path}: validation F1(AF) {f1[1]:.3f}, mean F1(N,A,O) {f1[:3].mean():.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("out", type=Path)
    p.add_argument("--data-dir")
    j = sub.add_parser("job")
    j.add_argument("name")
    j.add_argument("config")
    j.add_argument("out", type=Path)
    j.add_argument("--windows", type=Path, required=True)
    s = sub.add_parser("score")
    s.add_argument("models", type=Path, nargs="+")
    s.add_argument("--data-dir")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.out, args.data_dir)
    elif args.command == "job":
        job(args.name, args.config, args.out, args.windows)
    else:
        score(args.models, args.data_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
