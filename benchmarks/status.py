"""docs/status.md: what each part of WearSense reaches today, written by `make bench`.

Every figure on that page is read from `build/bench/results.json` (this run's benchmarks,
or an earlier run's for areas not measured this time) or from a shipped model's
`models/<task>/metrics.json`, so no figure in the docs can go stale: docs name the key,
this page shows its value. A figure whose source lacks the key reads "not measured".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
STATUS = ROOT / "docs" / "status.md"
NOT_MEASURED = "not measured"


@dataclass(frozen=True)
class Figure:
    """One figure: its label, where it comes from and how it is written.

    ``source`` is ``bench`` (results.json) or a model task (``afib``, ``fall``, ``activity``:
    that model's metrics.json); ``key`` is the dotted path inside it."""

    label: str
    source: str
    key: str
    fmt: Callable[[Any], str]


def pct(value: Any) -> str:
    return f"{100 * float(value):.1f} %"


def num(digits: int = 0) -> Callable[[Any], str]:
    def fmt(value: Any) -> str:
        return f"{float(value):,.{digits}f}".replace(",", " ")

    return fmt


def f3(value: Any) -> str:
    return f"{float(value):.3f}"


def kib(value: Any) -> str:
    return f"{float(value) / 1024:.1f} KiB"


def text(value: Any) -> str:
    return str(value)


@dataclass(frozen=True)
class Part:
    name: str
    state: str
    docs: str
    figures: tuple[Figure, ...]


def _b(label: str, key: str, fmt: Callable[[Any], str] = text) -> Figure:
    return Figure(label, "bench", key, fmt)


def _m(task: str, label: str, key: str, fmt: Callable[[Any], str] = f3) -> Figure:
    return Figure(label, task, key, fmt)


PARTS: tuple[Part, ...] = (
    Part(
        "wire protocol, C and Python codecs, shared vectors",
        "done",
        "`docs/protocol.md`",
        (
            _b("fuzzed packets", "protocol.fuzz_inputs", num()),
            _b("C and Python disagreeing on", "protocol.fuzz_disagreements", num()),
            _b("Python decodes per s", "protocol.python_decode_per_s", num()),
        ),
    ),
    Part(
        "int8 interpreter, bit-exact with TFLite Micro, M4 DSP kernels",
        "done",
        "`docs/interpreter.md`",
        (
            _b("random models compared with TFLM", "interpreter.bitexact_tflm.models", num()),
            _b("inferences differing", "interpreter.bitexact_tflm.mismatches", num()),
            _b("M4 instructions per MAC, AFib", "interpreter.models.afib.instructions_per_mac", f3),
            _b("fall", "interpreter.models.fall.instructions_per_mac", f3),
            _b("activity", "interpreter.models.activity.instructions_per_mac", f3),
            _b("arena / TFLM's, AFib", "interpreter.models.afib.arena_ratio_tflm", f3),
            _b("model structure outside the arena", "interpreter.model_struct_bytes", num()),
            _b("fuzz executions", "fuzz.nn.executions", num()),
            _b("crashes", "fuzz.nn.crashes", num()),
        ),
    ),
    Part(
        "ECG front end in C (QRS detection, signal quality)",
        "done",
        "`docs/ecg-front-end.md`",
        (
            _b("QRS sensitivity, MIT-BIH", "ecg.qrs_sensitivity", pct),
            _b("QRS PPV", "ecg.qrs_ppv", pct),
            _b("noisy CinC records flagged", "ecg.noisy_flagged", pct),
            _b("clean records flagged", "ecg.clean_flagged", pct),
            _b("M4 instructions per s", "ecg.m4_instructions_per_s", num()),
        ),
    ),
    Part(
        "IMU front end in C (50 Hz, impact trigger, windows)",
        "done",
        "`docs/imu-front-end.md`",
        (
            _b("SisFall waist falls triggered", "imu.per_dataset.sisfall.waist.recall", pct),
            _b("impact threshold (g)", "imu.impact_threshold_g", text),
        ),
    ),
    Part(
        "AFib int8 model",
        "shipped, below target (F1(AF) 0.90, mean F1 0.83)",
        "`models/afib/README.md`",
        (
            _m("afib", "held-out CinC F1(AF)", "per_class.af.f1"),
            _m("afib", "mean F1(N,A,O)", "macro_f1_nao"),
            _m("afib", "MIT-BIH AF-time sensitivity", "af_time.sensitivity", pct),
            _m("afib", "specificity", "af_time.specificity", pct),
            _m("afib", "bytes of arena", "arena_bytes", num()),
            _m("afib", "MACs", "macs", num()),
        ),
    ),
    Part(
        "fall int8 model",
        "shipped, improving",
        "`models/fall/README.md`",
        (
            _m("fall", "held-out subjects macro-F1", "macro_f1"),
            _m("fall", "false alarms per hour", "false_alarms_per_hour", num(1)),
            _m("fall", "bytes of arena", "arena_bytes", num()),
            _m("fall", "MACs", "macs", num()),
        ),
    ),
    Part(
        "activity int8 model",
        "shipped, improving",
        "`models/activity/README.md`",
        (
            _m("activity", "held-out accuracy", "accuracy", pct),
            _m("activity", "macro-F1", "macro_f1"),
            _m("activity", "bytes of arena", "arena_bytes", num()),
            _m("activity", "MACs", "macs", num()),
        ),
    ),
    Part(
        "the whole firmware on the Cortex-M4 (QEMU)",
        "done",
        "`docs/detectors.md`, `docs/firmware-port.md`",
        (
            _b("flash", "device.flash_bytes", kib),
            _b("code", "device.m4_flash_code_bytes", kib),
            _b("RAM", "device.ram_bytes", kib),
            _b("of it the app", "device.m4_ram_app_bytes", kib),
            _b("stack", "device.m4_ram_stack_bytes", kib),
            _b("instructions per s, AFib", "device.instructions_per_s.afib", num()),
            _b("fall", "device.instructions_per_s.fall", num()),
            _b("activity", "device.instructions_per_s.activity", num()),
            _b("CPU at 64 MHz", "device.duty_64mhz", pct),
        ),
    ),
    Part(
        "device core: power-loss-safe queue",
        "done",
        "`docs/device-core.md`",
        (
            _b("power cuts", "device.power_cut_trials", num()),
            _b("events lost", "device.power_cut_lost", num()),
            _b("queue capacity (days, typical use)", "device.queue_capacity_days", num(1)),
            _b("libFuzzer executions, command writes", "fuzz.command.executions", num()),
            _b("crashes", "fuzz.command.crashes", num()),
            _b("acknowledgements", "fuzz.ack.executions", num()),
            _b("crashes", "fuzz.ack.crashes", num()),
            _b("model-transfer writes", "fuzz.transfer.executions", num()),
            _b("crashes", "fuzz.transfer.crashes", num()),
            _b("strip requests and transfers", "fuzz.strip_transfer.executions", num()),
            _b("crashes", "fuzz.strip_transfer.crashes", num()),
            _b("strip blocks decoded", "fuzz.strip_decode.executions", num()),
            _b("crashes", "fuzz.strip_decode.crashes", num()),
        ),
    ),
    Part(
        "emulated wearable on Bumble, bleak companion, store-then-ack",
        "done",
        "`docs/link.md`",
        (
            _b("link faults injected", "link.faults", num()),
            _b("events lost", "link.lost", num()),
            _b("duplicated", "link.duplicated", num()),
            _b("median latency (ms)", "link.latency_ms_median", num(1)),
        ),
    ),
    Part(
        "the link against a hostile central and a killed companion",
        "done",
        "`docs/link.md`",
        (
            _b("handles probed", "link.security.handles_probed", num()),
            _b("ATT operations each", "link.security.operations_probed", num()),
            _b("unanswered", "link.security.unanswered", num()),
            _b("unbonded writes accepted", "link.security.unauthorised_writes_accepted", num()),
            _b("legacy pairings accepted", "link.security.legacy_pairing_accepted", num()),
            _b("unbonded accesses served", "link.security.unbonded_access", num()),
            _b("kill -9 trials", "link.security.kill9_trials", num()),
            _b("recovered", "link.security.kill9_recovered", num()),
            _b("lost", "link.security.kill9_lost", num()),
            _b("duplicated", "link.security.kill9_duplicated", num()),
            _b(
                "Status read after a write flood, p99 (ms)",
                "link.security.flood_status_ms_p99",
                num(1),
            ),
        ),
    ),
    Part(
        "model updates over BLE (A/B slots, resumable, verified, rollback)",
        "done",
        "`docs/model-updates.md`",
        (
            _b("power cuts during updates", "updates.power_cut_trials", num()),
            _b("left no valid model", "updates.no_valid_model", num()),
            _b("malicious packages", "updates.malicious_total", num()),
            _b("rejected", "updates.malicious_rejected", num()),
            _b("untrusted packages registered", "updates.registry_untrusted_accepted", num()),
        ),
    ),
    Part(
        "companion store, clinical export",
        "done (issue 30 open: 50 000 events/s, a year in 2 s)",
        "`docs/store.md`, `docs/clinical-export.md`",
        (
            _b("ingest (events per s, batches of 32)", "store.ingest_events_per_s", num()),
            _b("batches of 512", "store.ingest_events_per_s_batch512", num()),
            _b("a patient-year exported (s): FHIR", "store.export_fhir_s", num(2)),
            _b("CSV", "store.export_csv_s", num(2)),
            _b("EDF+", "store.export_edf_s", num(2)),
            _b("report", "store.export_report_s", num(2)),
            _b("AF episodes overlapping", "store.overlapping_episodes", num()),
        ),
    ),
    Part(
        "ECG strips on request (codec, flash ring, transfer, exports)",
        "done",
        "`docs/strips.md`",
        (
            _b("ratio against FLAC, CinC", "strips.ratio_vs_flac.cinc2017", f3),
            _b("MIT-BIH", "strips.ratio_vs_flac.mitdb", f3),
            _b(
                "M4 instructions per sample to encode",
                "strips.m4_instructions_per_sample.overall",
                num(1),
            ),
            _b("strip RAM (bytes)", "strips.ram_bytes", num()),
            _b("30-s strips the partition holds, MIT-BIH", "strips.strips_capacity.mitdb", num()),
            _b("power cuts", "strips.power_cut_trials", num()),
            _b("strips lost", "strips.power_cut_lost", num()),
        ),
    ),
    Part(
        "terminal UI",
        "done",
        "`docs/tui.md`",
        (
            _b("event to screen (ms)", "tui.event_to_screen_ms", num()),
            _b("fall to alert (ms)", "tui.fall_to_alert_ms", num()),
        ),
    ),
    Part(
        "`make demo`",
        "done",
        "`README.md`",
        (
            _b("first detector event on screen (s)", "demo.first_detector_event_s", num(1)),
            _b("AF onset (s)", "demo.af_start_s", num(1)),
            _b("fall alert (s)", "demo.fall_alert_s", num(1)),
        ),
    ),
    Part(
        "`wearsense replay`: test splits through the device core",
        "done",
        "`docs/replay.md`",
        (
            _b("MIT-BIH AF-time sensitivity", "replay.af_time_sensitivity", pct),
            _b("specificity", "replay.af_time_specificity", pct),
            _b("SisFall falls found", "replay.sisfall_fall_sensitivity", pct),
            _b("UCI-HAPT timeline agreement", "replay.uci_hapt_agreement", pct),
            _b("with posture calibration", "replay.uci_hapt_agreement_calibrated", pct),
        ),
    ),
    Part(
        "energy budget (`wearsense budget`)",
        "done",
        "`docs/budget.md`",
        (
            _b("mAh per day, events only", "device.budget_mah_per_day", num(2)),
            _b("days on a CR2032", "device.battery_days", num()),
            _b("streaming raw", "device.battery_days_streaming", num()),
        ),
    ),
)


def lookup(data: dict[str, Any], key: str) -> Any:
    """The value at a dotted path; None when any step is missing. A step may itself
    contain dots (e.g. `dsads/right_arm`), so the longest matching name is taken."""
    node: Any = data
    rest = key
    while rest:
        if not isinstance(node, dict):
            return None
        for name in sorted(node, key=len, reverse=True):
            if rest == name or rest.startswith(name + "."):
                node = node[name]
                rest = rest[len(name) + 1 :]
                break
        else:
            return None
    return node


def shown_before(page: str) -> dict[tuple[str, str, int], str]:
    """The figures a status page shows: (part, label, its n-th use in that part) -> value
    as written."""
    found: dict[tuple[str, str, int], str] = {}
    for line in page.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 4 or cells[0] in ("part", "---"):
            continue
        seen: dict[str, int] = {}
        for item in cells[2].split("; "):
            label, sep, value = item.rpartition(": ")
            if sep and value != NOT_MEASURED:
                n = seen[label] = seen.get(label, -1) + 1
                found[(cells[0], label, n)] = value
    return found


INTERPRETER_HEADING = "## The int8 interpreter on the Cortex-M4, per model"


def section_before(page: str, heading: str = INTERPRETER_HEADING) -> list[str]:
    """The lines of a section of a status page, from its heading to the blank line before
    the next paragraph that is not its table (empty when the page has none)."""
    lines = page.splitlines()
    if heading not in lines:
        return []
    start = lines.index(heading)
    end = start + 1
    while end < len(lines) and not lines[end].startswith("Where each figure comes from"):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return ["", *lines[start:end]]


def render(
    results: dict[str, Any],
    metrics: dict[str, dict[str, Any]],
    before: dict[tuple[str, str, int], str] | None = None,
    interpreter_before: list[str] | None = None,
) -> str:
    """The page's Markdown from the bench results and each task's metrics. A bench figure
    that results.json lacks (its area not run since the file was made) keeps the value
    ``before`` (the page as it was) shows, and the page says which areas it measured."""
    before = before or {}
    carried = 0
    lines = [
        "# Status",
        "",
        "Generated by `make bench` (`benchmarks/status.py`) from `build/bench/results.json` and",
        "`models/*/metrics.json`; do not edit by hand. Other docs name the `results.json` key",
        "or the metric and leave the figure to this page.",
        "",
        "| part | state | measured | docs |",
        "| --- | --- | --- | --- |",
    ]
    for part in PARTS:
        shown = []
        uses: dict[str, int] = {}
        for figure in part.figures:
            n = uses[figure.label] = uses.get(figure.label, -1) + 1
            source = results if figure.source == "bench" else metrics.get(figure.source, {})
            value = lookup(source, figure.key)
            if value is not None:
                written = figure.fmt(value)
            elif figure.source == "bench" and (part.name, figure.label, n) in before:
                written = before[(part.name, figure.label, n)]
                carried += 1
            else:
                written = NOT_MEASURED
            shown.append(f"{figure.label}: {written}")
        lines.append(f"| {part.name} | {part.state} | {'; '.join(shown)} | {part.docs} |")
    table = interpreter_table(results)
    if not table and interpreter_before:
        table = interpreter_before
        carried += 1
    lines += table
    lines += [
        "",
        "Where each figure comes from: `benchmarks/status.py` lists the key of each;",
        "`build/bench/results.md` lists every key `make bench` writes.",
    ]
    if carried:
        areas = ", ".join(f"`{k}`" for k in sorted(results)) or "none"
        lines.append(
            f"Bench areas in the latest results: {areas}; {carried} figures or tables of other "
            "areas are kept from the page before (an earlier `make bench`)."
        )
    lines.append("")
    return "\n".join(lines)


INTERPRETER_COLUMNS = (
    ("MACs", "macs", num()),
    ("M4 instructions, portable", "m4_instructions_portable", num()),
    ("M4 instructions, DSP", "m4_instructions", num()),
    ("per MAC, portable", "instructions_per_mac_portable", num(2)),
    ("per MAC, DSP", "instructions_per_mac", num(2)),
    ("arena", "arena_bytes", num()),
    ("TFLM's arena", "tflm_arena_bytes", num()),
    ("ratio", "arena_ratio_tflm", f3),
    ("flash", "flash_bytes", num()),
)


def interpreter_table(results: dict[str, Any]) -> list[str]:
    """The named models of the interpreter's M4 image (`interpreter.models.<name>.<key>`;
    the image's random models, `random<N>`, are left to results.md)."""
    models = lookup(results, "interpreter.models")
    if not isinstance(models, dict) or not models:
        return []
    lines = [
        "",
        INTERPRETER_HEADING,
        "",
        "Instructions per inference in QEMU (`-icount shift=0`), arena bytes against TFLite",
        "Micro's smallest working arena (`interpreter.models.<name>.<column key>`;",
        "`docs/interpreter.md` says how each is measured).",
        "",
        "| model | " + " | ".join(c[0] for c in INTERPRETER_COLUMNS) + " |",
        "| --- |" + " --- |" * len(INTERPRETER_COLUMNS),
    ]
    for name in sorted(n for n in models if not n.startswith("random")):
        cells = []
        for _label, key, fmt in INTERPRETER_COLUMNS:
            value = lookup(models[name], key)
            cells.append("-" if value is None else fmt(value))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def read_metrics(models: Path = ROOT / "models") -> dict[str, dict[str, Any]]:
    found = {}
    for path in sorted(models.glob("*/metrics.json")):
        found[path.parent.name] = json.loads(path.read_text())
    return found


def write_status(results: dict[str, Any], out: Path = STATUS) -> Path:
    page = out.read_text() if out.exists() else ""
    out.write_text(render(results, read_metrics(), shown_before(page), section_before(page)))
    return out
