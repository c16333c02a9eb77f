"""`wearsense model`: inspect and run int8 `.tflite` models the way the firmware does.

``info`` lists operators, tensors and quantization, then loads the file into the C
interpreter and prints its MACs and exact arena size, or the status code and the
operator at which the firmware would reject it. ``run`` runs one inference on the C
interpreter from a ``.npy`` input (int8 or float32, as the model's input tensor).
``profile`` runs one inference on the emulated Cortex-M4 (QEMU) and reports its
instructions, RAM, flash and load cost (wearsense/testing/m4profile.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from wearsense.firmware.nn import InterpreterError, NNModel
from wearsense.testing import m4profile
from wearsense.tflite.info import model_info
from wearsense.tflite.model import TFLiteError


def _load_bytes(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise TFLiteError(f"{path}: cannot read ({exc.strerror})") from exc


def _print_info(info: dict[str, Any]) -> None:
    print(f"{info['file']}: {info['flash_bytes']} bytes")
    if "parse_error" in info:
        print(f"  not readable: {info['parse_error']}")
    for op in info.get("operators", []):
        options = ", ".join(f"{k}={v}" for k, v in op["options"].items())
        print(
            f"  op {op['index']:2d} {op['op']} v{op['version']} in={op['inputs']} "
            f"out={op['outputs']} {options}"
        )
    for t in info.get("tensors", []):
        marks = (
            ("const " if t["constant"] else "")
            + ("input " if t["index"] in info["inputs"] else "")
            + ("output " if t["index"] in info["outputs"] else "")
        )
        quant = f" scale={t['scale']} zp={t['zero_point']}" if t["scale"] is not None else ""
        print(f"  tensor {t['index']:2d} {t['dtype']:7s} {t['shape']}{quant} {marks}{t['name']}")
    fw = info["firmware"]
    if fw["accepted"]:
        parts = ", ".join(f"{k} {v}" for k, v in fw["arena_parts"].items())
        print(f"  firmware: accepted; {fw['macs']} MACs; arena {fw['arena_bytes']} bytes ({parts})")
    else:
        where = f" at operator {fw['operator']}" if fw["operator"] >= 0 else ""
        print(f"  firmware: REJECTED with {fw['status_name']} (0x{fw['status']:02x}){where}")


def _info(args: argparse.Namespace) -> int:
    try:
        data = _load_bytes(args.model)
    except TFLiteError as exc:
        print(f"error: {exc}")
        return 2
    info = model_info(data, args.model)
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        _print_info(info)
    return 0 if info["firmware"]["accepted"] else 1


def _run(args: argparse.Namespace) -> int:
    try:
        data = _load_bytes(args.model)
        array = np.load(args.input, allow_pickle=False)
    except (TFLiteError, OSError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    try:
        model = NNModel(data, args.model)
        expected = model.inputs[0]
        if array.size == int(np.prod(expected.shape)) and array.dtype != expected.dtype:
            print(
                f"error: {args.input}: dtype {array.dtype}, the model takes "
                f"{np.dtype(expected.dtype).name} (quantize the input first)"
            )
            return 2
        outputs = model.run(array.reshape(expected.shape) if array.size else array)
    except InterpreterError as exc:
        print(f"error: {exc}")
        return 1
    except ValueError as exc:
        print(f"error: {exc}")
        return 2
    np.save(args.output, outputs[0])
    print(
        f"wrote {args.output}: {outputs[0].dtype} {list(outputs[0].shape)}; "
        f"arena {model.arena_bytes} bytes, {model.macs} MACs"
    )
    return 0


def _print_profile(p: dict[str, Any]) -> None:
    per_mac = p["instructions_per_mac"]
    print(f"{p['model']}: one inference on the emulated Cortex-M4")
    print(
        f"  instructions {p['m4_instructions']:,}; {p['macs']:,} MACs"
        + (f"; {per_mac} instructions per MAC" if per_mac is not None else "")
    )
    print(
        f"  load {p['load_m4_instructions']:,} instructions (validation + plan), "
        f"arena setup {p['set_arena_m4_instructions']:,}"
    )
    print(
        f"  RAM {p['ram_bytes']:,} bytes = arena {p['arena_bytes']:,} + tables "
        f"{p['state_bytes']:,} (stack {p['stack_bytes']} bytes beside it)"
    )
    print(
        f"  flash {p['flash_bytes']:,} bytes = model {p['flash_model_bytes']:,} + "
        f"interpreter and its operators {p['flash_code_bytes']:,}"
    )
    verdict = "bit-exact" if p["bit_exact"] else "DIFFERENT from"
    print(f"  output {verdict} the host build's")
    print("  op  type                  MACs  instructions  per MAC")
    for op in p["per_op"]:
        ratio = op["instructions_per_mac"]
        print(
            f"  {op['index']:2d}  {op['op']:18s} {op['macs']:8d}  {op['m4_instructions']:12d}"
            f"  {'' if ratio is None else ratio}"
        )


def _profile(args: argparse.Namespace) -> int:
    try:
        data = _load_bytes(args.model)
    except TFLiteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        result = m4profile.profile(
            data,
            Path(args.model).name,
            seed=args.seed,
            progress=lambda message: print(f"{message} ...", file=sys.stderr, flush=True),
        )
    except InterpreterError as exc:
        what = "not a TFLite model" if exc.name == "WS_ERR_NN_FORMAT" else "refused"
        print(f"error: {args.model}: {what}: {exc}", file=sys.stderr)
        return 1
    except m4profile.ProfileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_profile(result)
    return 0 if result["bit_exact"] else 1


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "model",
        help="inspect or run an int8 .tflite on the firmware's C interpreter",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="model_command", metavar="ACTION", required=True)
    info = sub.add_parser(
        "info",
        help="operators, tensors, quantization, MACs and exact arena bytes (or why rejected)",
        description="Print what is inside MODEL and whether the firmware accepts it. "
        "Exit status 0 if accepted, 1 if the firmware would reject it, 2 if unreadable.",
    )
    info.add_argument("model", metavar="MODEL.tflite")
    info.add_argument("--json", action="store_true", help="print machine-readable JSON")
    info.set_defaults(handler=_info)
    run = sub.add_parser(
        "run",
        help="run one inference on the C interpreter",
        description="Run MODEL on the C interpreter (the firmware's code, built for the host). "
        "The input .npy must have the dtype of the model's input (int8 for a fully int8 "
        "model) and its number of elements; the first output is saved to OUT.npy.",
    )
    run.add_argument("model", metavar="MODEL.tflite")
    run.add_argument("--input", required=True, metavar="IN.npy")
    run.add_argument("--output", required=True, metavar="OUT.npy")
    run.set_defaults(handler=_run)
    profile = sub.add_parser(
        "profile",
        help="one inference on the emulated Cortex-M4: instructions, RAM, flash, load",
        description="Run MODEL once on the emulated Cortex-M4 (QEMU mps2-an386, DSP kernels; "
        "the image is built on first use with make profile-image) on a random input and "
        "report instructions (one per virtual nanosecond under -icount), MACs, instructions "
        "per MAC and per operator, RAM (arena + the interpreter's tensor and operator "
        "tables), flash (the model + the code of the operators it uses), the instructions "
        "of loading it (validation + memory plan), and whether the output is bit-exact "
        "with the host build's. Exit status 0 if bit-exact, 1 if the interpreter refuses "
        "the model or the outputs differ, 2 if the file or the tools are missing.",
    )
    profile.add_argument("model", metavar="MODEL.tflite")
    profile.add_argument("--json", action="store_true", help="print machine-readable JSON")
    profile.add_argument("--seed", type=int, default=0, help="seed of the random input (default 0)")
    profile.set_defaults(handler=_profile)
