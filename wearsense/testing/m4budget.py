"""Cortex-M4 budgets of the whole firmware, measured on the replay image
(firmware/replay/main.c, ``make replay-image``; docs/detectors.md, "Budgets").

* flash: ``.text`` + ``.rodata`` + ``.data`` of the linked M4 image (``--gc-sections``)
  less the embedded recordings, i.e. code + the three shipped models; the A/B model slots
  of over-the-air updates are a separate partition (:data:`AB_PARTITION_BYTES`);
* RAM: ``.data`` + ``.bss`` less the RAM-backed event queue and strip partition of the
  QEMU port and the replay driver's sensor buffer, plus the measured stack high-water mark
  (the reset handler paints the stack; ``ws_port_stack_used``); its budget is
  :data:`RAM_BUDGET_BYTES` (64 KB);
* instructions per second of signal: the image times every feed call with SysTick under
  QEMU ``-icount shift=0`` (1 instruction = 1 ns of virtual time; calibrated on a loop of
  2 000 000 instructions), per pass: front ends alone, each detector alone (its front end
  included) and all together; the duty is total / 64 MHz.

Needs the ARM toolchain, QEMU and the data root (the image embeds real recordings).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ELF = ROOT / "build" / "replay" / "m4" / "replay.elf"
CLOCK_HZ = 64_000_000
# Two slots per task of the largest model each task may receive (docs/detectors.md).
MAX_MODEL_BYTES = {"afib": 32 * 1024, "fall": 16 * 1024, "activity": 16 * 1024}
AB_PARTITION_BYTES = 2 * sum(MAX_MODEL_BYTES.values())
SIGNAL_SYMBOLS = ("ws_replay_ecg", "ws_replay_imu")
DRIVER_RAM_SYMBOLS = ("ws_replay_queue_mem", "ws_replay_strip_mem", "imu_buf")
# The firmware's RAM budget: static + stack (docs/detectors.md; 64 KB, an nRF52832-class
# part, since the ECG strips' pre-onset ring of issue #31; 48 KB before).
RAM_BUDGET_BYTES = 64 * 1024
# The emulated Cortex-M4 with instruction counting (docs/firmware-port.md); every M4
# measurement (benchmarks, tools) runs images with this command line plus "-kernel ELF".
QEMU = [
    "qemu-system-arm", "-M", "mps2-an386", "-cpu", "cortex-m4", "-nographic",
    "-monitor", "none", "-serial", "none", "-semihosting-config", "enable=on,target=native",
    "-icount", "shift=0",
]  # fmt: skip


class BudgetError(RuntimeError):
    """The image could not be built or run."""


def available() -> bool:
    return bool(shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm"))


def _symbols(elf: Path) -> dict[str, int]:
    out = subprocess.run(
        ["arm-none-eabi-nm", "-S", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    sizes: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            sizes[parts[3]] = int(parts[1], 16)
    return sizes


def _sections(elf: Path) -> dict[str, int]:
    out = subprocess.run(
        ["arm-none-eabi-size", "-A", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    sizes: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith("."):
            sizes[parts[0]] = int(parts[1])
    return sizes


def run_image(target: str, elf: Path, tag: str, build: bool = True) -> tuple[str, float]:
    """Builds ``make TARGET`` (with ``build``) and runs ``elf`` under QEMU; its output and
    the instructions per SysTick tick from its ``TAG calibration=T instructions=N`` line.
    BudgetError when it fails or does not print ``TAG done``."""
    if build:
        done = subprocess.run(["make", "-s", target], cwd=ROOT, capture_output=True, text=True)
        if done.returncode != 0:
            raise BudgetError(f"make {target} failed:\n{done.stdout}\n{done.stderr}")
    run = subprocess.run(
        [*QEMU, "-kernel", str(elf)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    text = run.stdout + run.stderr
    if run.returncode != 0 or f"{tag} done" not in text:
        raise BudgetError(f"the image of make {target} failed (status {run.returncode}):\n{text}")
    cal = re.search(rf"{tag} calibration=(\d+) instructions=(\d+)", text)
    if cal is None:
        raise BudgetError(f"no calibration line in:\n{text}")
    return text, int(cal.group(2)) / int(cal.group(1))


def measure(build: bool = True) -> dict[str, Any]:
    """Builds and runs the replay image; the budget figures as a dict."""
    text, per_tick = run_image("replay-image", ELF, "WS-REPLAY", build)
    passes: dict[str, dict[str, int]] = {}
    for m in re.finditer(r"WS-REPLAY pass=(\w+) (.*)", text):
        passes[m.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(2))}
    info = re.search(
        r"stack_used=(\d+) app_bytes=(\d+) device_bytes=(\d+) arena_bytes=(\d+) "
        r"arena_needed=(\d+)",
        text,
    )
    if info is None or "total" not in passes:
        raise BudgetError(f"incomplete output:\n{text}")
    stack, app_bytes, device_bytes, arena, arena_needed = map(int, info.groups())
    strips_info = re.search(r"strips_bytes=(\d+) strips_made=(\d+)", text)
    strips_bytes, strips_made = map(int, strips_info.groups()) if strips_info else (0, 0)

    def per_s(name: str) -> int:
        p = passes[name]
        seconds = max(p["ecg_s"], p["imu_s"])
        return round(p["ticks"] * per_tick / seconds)

    ips = {
        "afib": per_s("afib"),
        "fall": per_s("fall"),
        "activity": per_s("activity"),
        "total": per_s("total"),
        "ecg_front_end": per_s("ecg"),
        "imu_front_end": per_s("imu"),
    }
    if "ecg_strips" in passes:
        ips["strips"] = per_s("ecg_strips") - ips["ecg_front_end"]
    sections, symbols = _sections(ELF), _symbols(ELF)
    signals = sum(symbols.get(s, 0) for s in SIGNAL_SYMBOLS)
    flash = sum(sections.get(s, 0) for s in (".isr_vector", ".text", ".ARM.exidx", ".data"))
    flash -= signals
    models = {
        name: symbols.get(f"ws_replay_model_{name}", 0) for name in ("afib", "fall", "activity")
    }
    static = sections.get(".data", 0) + sections.get(".bss", 0)
    static -= sum(symbols.get(s, 0) for s in DRIVER_RAM_SYMBOLS)
    total = passes["total"]
    switch = {
        ("afib", "fall", "activity")[int(t)]: round(int(n) * per_tick)
        for t, n in re.findall(
            r"WS-REPLAY switch task=(\d) ticks=(\d+) load_ticks=\d+ status=0", text
        )
    }
    return {
        "flash_bytes": flash,
        "flash_code_bytes": flash - sum(models.values()),
        "flash_model_bytes": models,
        "flash_ab_partition_bytes": AB_PARTITION_BYTES,
        "ram_bytes": static + stack,
        "ram_static_bytes": static,
        "ram_arena_bytes": arena,
        "ram_arena_needed_bytes": arena_needed,
        "ram_app_bytes": app_bytes,
        "ram_device_bytes": device_bytes,
        "ram_stack_bytes": stack,
        "ram_strips_bytes": strips_bytes,
        "ram_budget_bytes": RAM_BUDGET_BYTES,
        "ram_within_budget": static + stack <= RAM_BUDGET_BYTES,
        "replay_strips_made": strips_made,
        "instructions_per_s": ips,
        "duty_64mhz": round(ips["total"] / CLOCK_HZ, 5),
        "duty_64mhz_by_detector": {k: round(v / CLOCK_HZ, 5) for k, v in ips.items()},
        "replay_signal_s": {"ecg": total["ecg_s"], "imu": total["imu_s"]},
        "replay_model_runs": {
            "afib": total["af_runs"],
            "fall": total["fall_runs"],
            "activity": total["activity_runs"],
            "arena_switches": total["loads"],
        },
        "model_switch_instructions": switch,
        "instructions_per_systick": per_tick,
    }
