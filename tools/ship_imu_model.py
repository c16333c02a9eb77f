"""Ships a trained fall or activity student into models/<task>/.

    python tools/ship_imu_model.py fall build/train/fall [--version 1] [--data-dir DIR]

Copies the int8 `.tflite`, the float teacher and student, training.json (and
cross_dataset.json, pareto.{json,md,png} when present) from the training folder, evaluates
the int8 model on the C interpreter over every held-out subject (metrics.json,
confusion.png), builds and signs (development key) one package per placement the format
allows (waist: <task>.wspkg, chest: <task>-chest.wspkg) and writes the model card.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COPIED = (
    "teacher.pt",
    "student_float.pt",
    "training.json",
    "cross_dataset.json",
    "pareto.json",
    "pareto.md",
    "pareto.png",
)
CLASSES = {
    "fall": "adl,fall",
    "activity": "walk,run,cycle,upstairs,downstairs,sit,stand,lie",
}


def _wearsense(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "wearsense.cli", *args], check=True, cwd=REPO)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("task", choices=sorted(CLASSES))
    parser.add_argument("trained", help="the folder `wearsense train TASK --out` wrote")
    parser.add_argument("--version", type=int, default=1, help="package version (>= 1)")
    parser.add_argument("--data-dir", help="data folder (default: $WEARSENSE_DATA or ../shared)")
    parser.add_argument("--limits", help="a Markdown file appended to the model card")
    args = parser.parse_args()
    task, src = args.task, Path(args.trained)
    dst = REPO / "models" / task
    dst.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / f"{task}.tflite", dst / f"{task}.tflite")
    for name in COPIED:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
    data = ["--data-dir", args.data_dir] if args.data_dir else []
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
    for placement, name in (("waist", f"{task}.wspkg"), ("chest", f"{task}-chest.wspkg")):
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
            "50",
            "--classes",
            CLASSES[task],
        )
        _wearsense("package", "sign", str(package), "--dev-key")
        _wearsense("package", "verify", str(package), "--task", task, "--placement", placement)
    from wearsense.training.model_card import write_imu_card

    extra = Path(args.limits).read_text() if args.limits else ""
    print(write_imu_card(dst, task, extra))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
