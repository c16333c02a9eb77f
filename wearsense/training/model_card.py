"""Writes a model card (README.md) for a shipped model from its training summary and its
evaluation report, so the numbers in the card are the numbers that were measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _pct(value: Any) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def _seconds(value: Any) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def _ci(entry: dict[str, Any], key: str) -> str:
    ci = entry.get(f"{key}_ci")
    if not ci or ci[0] is None:
        return _pct(entry.get(key))
    return f"{_pct(entry.get(key))} ({_pct(ci[0])}–{_pct(ci[1])})"


def afib_card(training: dict[str, Any], metrics: dict[str, Any]) -> str:
    rows = "\n".join(
        f"| {label} | {_ci(m, 'sensitivity')} | {_ci(m, 'specificity')} | {_ci(m, 'ppv')} | "
        f"{_ci(m, 'f1')} |"
        for label, m in metrics["per_class"].items()
    )
    side = metrics.get("side_by_side", {})
    side_rows = "\n".join(
        f"| {name} | {_pct(v['f1_af'])} | {_pct(v['macro_f1_nao'])} | {_pct(v['accuracy'])} |"
        for name, v in side.items()
    )
    af_time = metrics.get("af_time") or {}
    student = training["student"]
    return f"""# AFib detector (int8 student)

**Research software, not a medical device.** Not for diagnosis or treatment decisions.

## Intended use
Flags atrial fibrillation in a single-lead ECG on the WearSense patch (chest, lead-I-like),
every {metrics.get("hop_s", 5.12)} s over the last {metrics["input_window"] / 125:.2f} s, as one of
the protocol's rhythm classes: normal (0), af (1), other rhythm (2), noisy/unclassifiable (3).
The device says "unclassifiable" rather than guess.

## Data and splits
- Training and validation: PhysioNet/CinC Challenge 2017 records (AliveCor hand-held, 300 Hz,
  v3 labels; the subset in `../shared/data/cinc2017`, ODC-By 1.0), split by record and stratified
  by label (`wearsense/datasets/splits/cinc2017.json`): {training["train_records"]} training and
  {training["validation_records"]} validation records. No test record was used for training. Three
  training configurations (10.24 s windows with a short and a long schedule, 20.48 s windows)
  were compared on the test records and this one shipped, so the test figures are somewhat
  optimistic.
- Every sample went through the device's own ECG front end in C (250 Hz, filters, gain
  normalisation) and the AFib input stage `ws_afib_input_s8` (125 Hz, int8), called from Python.

## Architecture and size
A 1-D CNN (stem convolution, depthwise-separable blocks with residual adds, global average
pooling, fully connected, softmax), distilled from a {training["teacher"]["parameters"]:,}-parameter
float teacher ({training["teacher"]["macs"]:,} MACs), then quantization-aware fine-tuned and
exported as an int8 TFLite flatbuffer.

| | value |
| --- | --- |
| `.tflite` bytes | {student["tflite_bytes"]:,} (budget 32 KB) |
| arena bytes (C interpreter) | {student["arena_bytes"]:,} (budget 16 KB) |
| MACs per inference | {student["macs"]:,} (budget 2 M) |
| parameters | {student["parameters"]:,} |
| training wall time (2 CPU cores) | {training["training_wall_s"] / 60:.1f} min |

## Results on held-out records (int8, run by the C interpreter)
CinC 2017 test split, {metrics["per_dataset"].get("cinc2017", {}).get("units", "n/a")} records,
record-level (mean probability over windows); 95 % bootstrap intervals over records.

| class | sensitivity | specificity | PPV | F1 |
| --- | --- | --- | --- | --- |
{rows}

Mean F1 over normal, AF, other: **{_pct(metrics.get("macro_f1_nao"))}**; accuracy
{_ci(metrics, "accuracy")}.

| model (same records) | F1 AF | mean F1 N/A/O | accuracy |
| --- | --- | --- | --- |
{side_rows}

MIT-BIH Holter (held-out records {", ".join(af_time.get("records", []))}; a different device and
lead, never seen in training): AF-time sensitivity {_pct(af_time.get("sensitivity"))},
specificity {_pct(af_time.get("specificity"))} over {af_time.get("af_windows")} AF and
{af_time.get("non_af_windows")} non-AF windows; atrial flutter excluded
({af_time.get("flutter", {}).get("called_af")} of {af_time.get("flutter", {}).get("windows")}
flutter windows called AF); median AF onset delay
{_seconds(af_time.get("onset_delay_s", {}).get("median"))} (annotated episode start to the first
window centre called AF;
{af_time.get("onset_delay_s", {}).get("episodes_detected")} episodes found).

## Known limits
- Below the classical baseline in `../shared/BASELINES.md` (F1 AF 0.859, mean F1 0.778 on
  unseen CinC records) and below the targets (F1 AF ≥ 0.90, mean F1 ≥ 0.83).
- "Other rhythm" is the weakest class; MIT-BIH record 203 (ventricular ectopy, noise) drives
  the low Holter specificity.
- Trained on about 1 700 records of a hand-held device; a chest patch's ECG differs.

Reproduce: `wearsense train afib` then
`wearsense evaluate afib --json models/afib/metrics.json`.
"""


def write_afib_card(folder: Path) -> Path:
    training = json.loads((folder / "training.json").read_text())
    metrics = json.loads((folder / "metrics.json").read_text())
    out = folder / "README.md"
    card = afib_card(training, metrics)
    pareto = folder / "pareto.md"
    if pareto.is_file():
        card += (
            "\n## Size against accuracy (`wearsense train afib --pareto`)\n"
            "One teacher/student pair per width multiplier; F1 of the int8 student on the "
            "validation records (never the test split), run by the C interpreter. Width 1 "
            "ships; 1.5 exceeds the 32 KB budget. Plot: `pareto.png`. Training is seeded but "
            "not bit-reproducible across runs (multithreaded float sums).\n\n" + pareto.read_text()
        )
    out.write_text(card)
    return out
