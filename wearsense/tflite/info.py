"""What ``wearsense model info`` reports on a ``.tflite``: its operators and tensors as
read here, and whether the firmware's interpreter accepts it (MACs, exact arena bytes)
or the status it refuses it with."""

from __future__ import annotations

from typing import Any

from wearsense.firmware.nn import InterpreterError, NNModel
from wearsense.tflite.model import TFLiteError
from wearsense.tflite.reader import read_tflite


def model_info(data: bytes, name: str) -> dict[str, Any]:
    """Everything `info` prints, as a dict (also what ``--json`` writes)."""
    info: dict[str, Any] = {"file": name, "flash_bytes": len(data)}
    try:
        model = read_tflite(data, name)
    except TFLiteError as exc:
        info["parse_error"] = str(exc)
        model = None
    if model is not None:
        info["description"] = model.description
        info["operators"] = [
            {
                "index": i,
                "op": op.op,
                "version": op.version,
                "inputs": op.inputs,
                "outputs": op.outputs,
                "options": op.options,
            }
            for i, op in enumerate(model.operators)
        ]
        info["tensors"] = [
            {
                "index": i,
                "name": t.name,
                "shape": list(t.shape),
                "dtype": t.dtype,
                "constant": t.data is not None,
                "scale": t.scale[0]
                if len(t.scale) == 1
                else (f"per-channel x{len(t.scale)}" if t.scale else None),
                "zero_point": t.zero_point[0] if len(t.zero_point) == 1 else None,
            }
            for i, t in enumerate(model.tensors)
        ]
        info["inputs"], info["outputs"] = model.inputs, model.outputs
    try:
        loaded = NNModel(data, name)
    except InterpreterError as exc:
        info["firmware"] = {
            "accepted": False,
            "status": exc.status,
            "status_name": exc.name,
            "operator": exc.op_index,
        }
    else:
        info["firmware"] = {
            "accepted": True,
            "macs": loaded.macs,
            "arena_bytes": loaded.arena_bytes,
            "arena_parts": loaded.arena_parts,
        }
    return info
