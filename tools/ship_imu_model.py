"""Ships a trained student (fall, activity, and afib too) into models/<task>/.

    python tools/ship_imu_model.py fall build/train/fall [--version 1] [--data-dir DIR]

Copies the int8 `.tflite`, the float teacher and student, training.json (and
cross_dataset.json, pareto.{json,md,png} when present) from the training folder, evaluates
the int8 model on the C interpreter over every held-out subject (metrics.json,
confusion.png), builds and signs (development key) one package per placement the format
allows (waist: <task>.wspkg, chest: <task>-chest.wspkg; afib: chest only, afib.wspkg) and
writes the model card.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from wearsense.training.tasks import TASKS

REPO = Path(__file__).resolve().parents[1]
COPIED = (
    "teacher.pt",
    "student_float.pt",
    "student_base.pt",
    "training.json",
    "cross_dataset.json",
    "pareto.json",
    "pareto.md",
    "pareto.png",
)


def _wearsense(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "wearsense.cli", *args], check=True, cwd=REPO)


def _arm_variant(folder: Path, dst: Path, data: list[str]) -> None:
    import json
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "metrics.json"
        _wearsense(
            "evaluate", "activity", *data, "--model", str(folder / "activity.tflite"),
            "--json", str(out),
        )  # fmt: skip
        full = json.loads(out.read_text())
    training = json.loads((folder / "training.json").read_text())
    summary = {
        "what": "the same student trained with DSADS's postures (right arm) added; not shipped",
        "model_sha256": full["model_sha256"],
        "tflite_bytes": full["tflite_bytes"],
        "sources": training["sources"],
        "dsads_f1": full.get("dsads_f1"),
        "dsads_cycle_predicted_as": full.get("dsads_cycle_predicted_as"),
        "uci_hapt_six_basic_accuracy": full.get("uci_hapt_six_basic_accuracy"),
        "per_dataset": {
            k: {"accuracy": v["accuracy"], "macro_f1": v["macro_f1"], "n": v["n"]}
            for k, v in full["per_dataset"].items()
        },
    }
    (dst / "arm_variant.json").write_text(json.dumps(summary, indent=2) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("trained", help="the folder `wearsense train TASK --out` wrote")
    parser.add_argument("--version", type=int, default=1, help="package version (>= 1)")
    parser.add_argument("--data-dir", help="data folder (default: $WEARSENSE_DATA or ../shared)")
    parser.add_argument(
        "--limits",
        help="a Markdown file appended to the model card (default: tools/model_cards/TASK.md)",
    )
    parser.add_argument(
        "--arm-variant",
        help="activity: the folder of `wearsense train activity --include-arm`; its int8 "
        "model is evaluated and summarised in arm_variant.json (not shipped)",
    )
    args = parser.parse_args()
    spec, src = TASKS[args.task], Path(args.trained)
    task = spec.name
    dst = REPO / "models" / task
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / f"{task}.tflite", dst / f"{task}.tflite")
    for name in COPIED:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
    data = ["--data-dir", args.data_dir] if args.data_dir else []
    if args.arm_variant:
        _arm_variant(Path(args.arm_variant), dst, data)
    _wearsense(
        "evaluate",
        task,
        *data,
        "--model",
        str(dst / f"{task}.tflite"),
        "--json",
        str(dst / "metrics.json"),
        "--confusion-png",
        str(dst / "confusion.png"),
    )
    for placement, name in spec.placements:
        package = dst / name
        _wearsense(
            "package",
            "build",
            str(dst / f"{task}.tflite"),
            "-o",
            str(package),
            "--task",
            task,
            "--placement",
            placement,
            "--version",
            str(args.version),
            "--sample-rate",
            str(spec.sample_rate_hz),
            "--classes",
            ",".join(spec.labels),
        )
        _wearsense("package", "sign", str(package), "--dev-key")
        _wearsense("package", "verify", str(package), "--task", task, "--placement", placement)
    limits = Path(args.limits) if args.limits else REPO / "tools" / "model_cards" / f"{task}.md"
    extra = limits.read_text() if limits.is_file() else ""
    print(spec.write_card(dst, args.version, extra))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
