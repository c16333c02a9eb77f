"""`wearsense model`: inspect and run int8 `.tflite` models the way the firmware does.

``info`` lists operators, tensors and quantization, then loads the file into the C
interpreter and prints its MACs and exact arena size, or the status code and the
operator at which the firmware would reject it. ``run`` runs one inference on the C
interpreter from a ``.npy`` input (int8 or float32, as the model's input tensor).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from wearsense.firmware.nn import InterpreterError, NNModel
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
