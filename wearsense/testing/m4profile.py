"""One inference of any model the interpreter accepts on the emulated Cortex-M4, for
``wearsense model profile`` (docs/interpreter.md, "Profiling a model").

The profile image (firmware/profile/main.c, ``make profile-image``) embeds no model:
QEMU's generic loader puts the model and its inputs in PSRAM before the reset, so one
build serves every model. The image times loading, binding the arena, one inference and
the same inference one operator at a time with SysTick under ``-icount shift=0`` (40
instructions per tick, as benchmarks/bench_interpreter.py), and prints the outputs,
which must equal the host build's (the same C code, built for x86 with the portable
kernels) byte for byte.

Figures:

* ``m4_instructions``: one ``ws_nn_invoke``; ``load_m4_instructions``: ``ws_nn_load``
  (validation and the memory plan); ``set_arena_m4_instructions``: ``ws_nn_set_arena``
  (the per-channel requantization computed into the arena);
* ``ram_bytes`` = ``arena_bytes`` + ``state_bytes`` (``sizeof(ws_nn_model_t)``: the
  tensor and operator tables, outside the arena); ``stack_bytes`` (the image's stack
  high-water mark) is reported beside it, not in it;
* ``flash_bytes`` = the model + the M4 code of the interpreter's common files and of
  the operator files this model uses, with the files they call into (``.text`` +
  ``.data`` of their objects before ``--gc-sections``): what a firmware built with only
  these operators would carry (the firmware itself links every operator of the table).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from wearsense.firmware.nn import InterpreterError, NNModel
from wearsense.testing.m4budget import QEMU
from wearsense.tflite.model import OPNAMES

ROOT = Path(__file__).resolve().parents[2]
ELF = ROOT / "build" / "profile" / "m4" / "profile.elf"
NN_SOURCES = ROOT / "firmware" / "src" / "nn"
NN_OBJECTS = ROOT / "build" / "ctest" / "m4" / "core" / "nn"
BLOB_ADDRESS = 0x21000000  # PSRAM of mps2-an386 (firmware/profile/main.c)
BLOB_MAX = 8 * 1024 * 1024
ARENA_MAX = 8 * 1024 * 1024
MAGIC = 0x46505357  # "WSPF"
INSTRUCTIONS_PER_TICK = 40  # 25 MHz SysTick, 1 ns per instruction under -icount shift=0
QEMU_TIMEOUT_S = 600


class ProfileError(RuntimeError):
    """The profile image could not be built or run, or its output is incomplete."""


def available() -> bool:
    """The ARM toolchain and QEMU are installed (the image is built on demand)."""
    return bool(shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm"))


def random_inputs(model: NNModel, seed: int = 0) -> list[np.ndarray]:
    """One input per input tensor: integers over the int8 range, floats in [-4, 4)."""
    rng = np.random.default_rng(seed)
    arrays = []
    for info in model.inputs:
        dtype = np.dtype(info.dtype)
        if dtype.kind == "f":
            arrays.append(rng.uniform(-4.0, 4.0, size=info.shape).astype(dtype))
        else:
            arrays.append(rng.integers(-128, 128, size=info.shape).astype(dtype))
    return arrays


def make_blob(data: bytes, inputs: list[np.ndarray]) -> bytes:
    """What the image reads at BLOB_ADDRESS: header, model, then the inputs."""
    raw = b"".join(np.ascontiguousarray(a).tobytes() for a in inputs)
    pad = b"\0" * (-len(data) % 16)
    blob = struct.pack("<4I", MAGIC, len(data), len(raw), 0) + data + pad + raw
    if len(blob) > BLOB_MAX:
        raise ProfileError(f"model and inputs are {len(blob)} bytes, the image takes {BLOB_MAX}")
    return blob


def build_image() -> Path:
    """``make profile-image`` (nothing happens when it is up to date)."""
    if not (ROOT / "firmware" / "profile" / "main.c").exists():
        raise ProfileError("the profile image needs the WearSense source tree")
    done = subprocess.run(["make", "-s", "profile-image"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0 or not ELF.exists():
        raise ProfileError(f"make profile-image failed:\n{done.stdout}\n{done.stderr}")
    return ELF


def run_image(blob: bytes, elf: Path = ELF) -> str:
    """Runs the image on ``blob``; its semihosting output."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "blob.bin"
        path.write_bytes(blob)
        loader = f"loader,file={path},addr=0x{BLOB_ADDRESS:08x},force-raw=on"
        try:
            run = subprocess.run(
                [*QEMU, "-device", loader, "-kernel", str(elf)],
                capture_output=True,
                text=True,
                timeout=QEMU_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired as exc:
            raise ProfileError(f"QEMU ran past {QEMU_TIMEOUT_S} s") from exc
    text = run.stdout + run.stderr
    if run.returncode != 0 or "WS-PROF done" not in text:
        raise ProfileError(f"the profile image failed (status {run.returncode}):\n{text}")
    return text


def _fields(text: str, tag: str) -> list[dict[str, int]]:
    rows = []
    for m in re.finditer(rf"^WS-PROF {tag}((?: \w+=-?\d+)+)\s*$", text, re.MULTILINE):
        rows.append({k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", m.group(1))})
    return rows


def parse_output(text: str) -> dict[str, Any]:
    """The image's lines as numbers: load, arena, set_arena, invoke, ops, outputs."""
    parsed: dict[str, Any] = {}
    for tag in ("load", "arena", "set_arena", "invoke"):
        rows = _fields(text, tag)
        parsed[tag] = rows[0] if rows else None
    parsed["ops"] = _fields(text, "op")
    stack = re.search(r"^WS-PROF stack_used=(\d+)", text, re.MULTILINE)
    parsed["stack_used"] = int(stack.group(1)) if stack else None
    outputs: list[bytes] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("WS-PROF output "):
            current = []
            outputs.append(b"")
        elif line.startswith("WS-PROF hex ") and current is not None:
            current.append(line.split()[2])
            outputs[-1] = bytes.fromhex("".join(current))
        elif current is not None and not line.startswith("WS-PROF hex"):
            current = None
    parsed["outputs"] = outputs
    return parsed


def _object_bytes(objects: list[Path]) -> int:
    out = subprocess.run(
        ["arm-none-eabi-size", "-B", *map(str, objects)], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise ProfileError(f"arm-none-eabi-size failed: {out.stderr}")
    total = 0
    for line in out.stdout.splitlines()[1:]:
        parts = line.split()
        total += int(parts[0]) + int(parts[1])  # .text + .data (flash)
    return total


def operator_files() -> dict[int, str]:
    """{builtin code: source file stem under firmware/src/nn} from the operator table."""
    table = (NN_SOURCES / "op_table.c").read_text()
    names = {
        m.group(2): int(m.group(1))
        for m in re.finditer(r"WS_NN_OP_ROW\((\d+),\s*\d+,\s*(\w+),", table)
    }
    files: dict[int, str] = {}
    for source in sorted(NN_SOURCES.glob("*.c")):
        for m in re.finditer(r"^\w[\w ]*\bws_nn_eval_(\w+)\(", source.read_text(), re.MULTILINE):
            if m.group(1) in names:
                files[names[m.group(1)]] = source.stem
    return files


def _symbols(objects: list[Path]) -> tuple[dict[str, str], dict[str, set[str]]]:
    """({symbol: stem of the object defining it}, {stem: symbols it uses})."""
    out = subprocess.run(
        ["arm-none-eabi-nm", "-A", *map(str, objects)], capture_output=True, text=True
    )
    if out.returncode != 0:
        raise ProfileError(f"arm-none-eabi-nm failed: {out.stderr}")
    defined: dict[str, str] = {}
    used: dict[str, set[str]] = {}
    for line in out.stdout.splitlines():
        where, _, rest = line.partition(": ")
        parts = rest.split()
        stem = Path(where).stem
        if len(parts) == 2 and parts[0] == "U":
            used.setdefault(stem, set()).add(parts[1])
        elif len(parts) == 3 and parts[1].isupper():
            defined[parts[2]] = stem
    return defined, used


def code_flash_bytes(codes: set[int]) -> int:
    """M4 code of the interpreter's common files, those of the operators ``codes`` and
    every interpreter file they call into (a depthwise convolution uses conv.c's
    prepare). The operator table's size counts; what it names does not."""
    files = operator_files()
    kernel_files = set(files.values())
    objects = sorted(NN_OBJECTS.glob("*.o"))
    stems = {o.stem for o in objects}
    common = {p.stem for p in NN_SOURCES.glob("*.c")} - kernel_files
    wanted = common | {files[c] for c in codes if c in files}
    if not wanted <= stems:
        raise ProfileError(f"M4 objects missing (make profile-image): {sorted(wanted - stems)}")
    defined, used = _symbols(objects)
    todo = sorted(wanted - {"op_table"})
    while todo:
        for symbol in used.get(todo.pop(), ()):
            stem = defined.get(symbol)
            if stem is not None and stem not in wanted:
                wanted.add(stem)
                todo.append(stem)
    return _object_bytes([NN_OBJECTS / f"{stem}.o" for stem in sorted(wanted)])


def _per_mac(instructions: int, macs: int) -> float | None:
    return round(instructions / macs, 3) if macs else None


def profile(
    data: bytes,
    name: str = "model",
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
    build: bool = True,
) -> dict[str, Any]:
    """The profile of the ``.tflite`` ``data``; raises InterpreterError if the host build
    of the interpreter refuses it, ProfileError if the image cannot be built or run."""
    say = progress or (lambda _message: None)
    host = NNModel(data, name)  # the refusal, with its status and operator, comes from here
    if host.arena_bytes > ARENA_MAX:
        raise ProfileError(f"{name}: arena of {host.arena_bytes} bytes, the image has {ARENA_MAX}")
    if not available():
        raise ProfileError("profiling needs the ARM toolchain and QEMU (make toolchain)")
    inputs = random_inputs(host, seed)
    expected = [np.ascontiguousarray(a).tobytes() for a in host.run(*inputs)]
    blob = make_blob(data, inputs)
    if build:
        say("building the Cortex-M4 profile image (make profile-image)")
        build_image()
    say(f"running one inference of {name} on the emulated Cortex-M4 (QEMU)")
    parsed = parse_output(run_image(blob))
    load = parsed["load"]
    if load is None:
        raise ProfileError("no load line in the image's output")
    if load["status"] != 0:
        raise InterpreterError(load["status"], f"{name}: on the M4", load["failed_op"])
    arena, set_arena, invoke = parsed["arena"], parsed["set_arena"], parsed["invoke"]
    if arena is None or set_arena is None or invoke is None:
        raise ProfileError("incomplete output of the profile image")
    if set_arena["status"] != 0 or invoke["status"] != 0:
        status = set_arena["status"] or invoke["status"]
        raise InterpreterError(status, f"{name}: on the M4")
    macs = int(host.macs)
    instructions = invoke["systick"] * INSTRUCTIONS_PER_TICK
    per_op = [
        {
            "index": op["index"],
            "op": OPNAMES.get(op["code"], str(op["code"])),
            "macs": op["macs"],
            "m4_instructions": op["systick"] * INSTRUCTIONS_PER_TICK,
            "instructions_per_mac": _per_mac(op["systick"] * INSTRUCTIONS_PER_TICK, op["macs"]),
        }
        for op in parsed["ops"]
    ]
    code = code_flash_bytes({op["code"] for op in parsed["ops"]})
    return {
        "model": name,
        "m4_instructions": instructions,
        "macs": macs,
        "instructions_per_mac": _per_mac(instructions, macs),
        "ram_bytes": arena["bytes"] + arena["state"],
        "arena_bytes": arena["bytes"],
        "state_bytes": arena["state"],
        "flash_bytes": len(data) + code,
        "flash_model_bytes": len(data),
        "flash_code_bytes": code,
        "load_m4_instructions": load["systick"] * INSTRUCTIONS_PER_TICK,
        "set_arena_m4_instructions": set_arena["systick"] * INSTRUCTIONS_PER_TICK,
        "stack_bytes": parsed["stack_used"],
        "arena_parts": {k: arena[k] for k in ("activations", "requant", "scratch")},
        "bit_exact": parsed["outputs"] == expected,
        "per_op": per_op,
    }
