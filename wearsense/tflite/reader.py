"""Reads a `.tflite` flatbuffer back into a `Model` description (with the `tflite`
schema bindings). Only what the description can hold is read: one subgraph, builtin
operators the firmware knows, and the option fields `writer` writes."""

from __future__ import annotations

from typing import Any

import numpy as np
import tflite

from wearsense.tflite.model import (
    ACTIVATIONS,
    OPNAMES,
    PADDINGS,
    TYPE_NAMES,
    Model,
    Operator,
    Tensor,
    TFLiteError,
)

_ACT_NAMES = {v: k for k, v in ACTIVATIONS.items()}
_PAD_NAMES = {v: k for k, v in PADDINGS.items()}

# op -> (options class, [(option name, getter, kind)])
_READ_OPTIONS: dict[str, tuple[Any, list[tuple[str, str, str]]]] = {
    "CONV_2D": (
        tflite.Conv2DOptions,
        [
            ("padding", "Padding", "padding"),
            ("stride_w", "StrideW", "int"),
            ("stride_h", "StrideH", "int"),
            ("fused_activation_function", "FusedActivationFunction", "act"),
            ("dilation_w_factor", "DilationWFactor", "int"),
            ("dilation_h_factor", "DilationHFactor", "int"),
        ],
    ),
    "DEPTHWISE_CONV_2D": (
        tflite.DepthwiseConv2DOptions,
        [
            ("padding", "Padding", "padding"),
            ("stride_w", "StrideW", "int"),
            ("stride_h", "StrideH", "int"),
            ("depth_multiplier", "DepthMultiplier", "int"),
            ("fused_activation_function", "FusedActivationFunction", "act"),
            ("dilation_w_factor", "DilationWFactor", "int"),
            ("dilation_h_factor", "DilationHFactor", "int"),
        ],
    ),
    "AVERAGE_POOL_2D": (
        tflite.Pool2DOptions,
        [
            ("padding", "Padding", "padding"),
            ("stride_w", "StrideW", "int"),
            ("stride_h", "StrideH", "int"),
            ("filter_width", "FilterWidth", "int"),
            ("filter_height", "FilterHeight", "int"),
            ("fused_activation_function", "FusedActivationFunction", "act"),
        ],
    ),
    "FULLY_CONNECTED": (
        tflite.FullyConnectedOptions,
        [
            ("fused_activation_function", "FusedActivationFunction", "act"),
            ("keep_num_dims", "KeepNumDims", "bool"),
        ],
    ),
    "SOFTMAX": (tflite.SoftmaxOptions, [("beta", "Beta", "float")]),
    "LEAKY_RELU": (tflite.LeakyReluOptions, [("alpha", "Alpha", "float")]),
    "ADD": (tflite.AddOptions, [("fused_activation_function", "FusedActivationFunction", "act")]),
    "MEAN": (tflite.ReducerOptions, [("keep_dims", "KeepDims", "bool")]),
    "STRIDED_SLICE": (
        tflite.StridedSliceOptions,
        [
            ("begin_mask", "BeginMask", "int"),
            ("end_mask", "EndMask", "int"),
            ("ellipsis_mask", "EllipsisMask", "int"),
            ("new_axis_mask", "NewAxisMask", "int"),
            ("shrink_axis_mask", "ShrinkAxisMask", "int"),
        ],
    ),
    "MUL": (tflite.MulOptions, [("fused_activation_function", "FusedActivationFunction", "act")]),
    "CONCATENATION": (
        tflite.ConcatenationOptions,
        [("axis", "Axis", "int"), ("fused_activation_function", "FusedActivationFunction", "act")],
    ),
}
_READ_OPTIONS["MAX_POOL_2D"] = _READ_OPTIONS["AVERAGE_POOL_2D"]


def _options(op_name: str, operator: Any) -> dict[str, Any]:
    if op_name not in _READ_OPTIONS:
        return {}
    table = operator.BuiltinOptions()
    if table is None:
        return {}
    cls, fields = _READ_OPTIONS[op_name]
    options = cls()
    options.Init(table.Bytes, table.Pos)
    out: dict[str, Any] = {}
    for name, getter, kind in fields:
        value = getattr(options, getter)()
        if kind == "padding":
            out[name] = _PAD_NAMES.get(value, str(value))
        elif kind == "act":
            out[name] = _ACT_NAMES.get(value, str(value))
        elif kind == "bool":
            out[name] = bool(value)
        elif kind == "float":
            out[name] = float(value)
        else:
            out[name] = int(value)
    return out


def read_tflite(data: bytes, name: str = "<bytes>") -> Model:
    """The description of the `.tflite` in ``data``; raises `TFLiteError` naming ``name``."""
    if len(data) < 8 or data[4:8] != b"TFL3":
        raise TFLiteError(f"{name}: not a .tflite flatbuffer (no TFL3 identifier)")
    try:
        return _read(bytes(data), name)
    except TFLiteError:
        raise
    except Exception as exc:  # the bindings raise struct/index errors on corrupt offsets
        raise TFLiteError(f"{name}: malformed flatbuffer ({exc})") from exc


def _read(data: bytes, name: str) -> Model:
    model = tflite.Model.GetRootAsModel(data, 0)
    if model.SubgraphsLength() != 1:
        raise TFLiteError(f"{name}: {model.SubgraphsLength()} subgraphs, expected 1")
    graph = model.Subgraphs(0)
    tensors = []
    for index in range(graph.TensorsLength()):
        t = graph.Tensors(index)
        type_code = t.Type()
        if type_code not in TYPE_NAMES:
            raise TFLiteError(f"{name}: tensor {index} has unsupported type {type_code}")
        dtype = TYPE_NAMES[type_code]
        shape = tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else ()
        q = t.Quantization()
        scale: list[float] = []
        zero_point: list[int] = []
        qdim = 0
        if q is not None and q.ScaleLength():
            scale = [float(s) for s in q.ScaleAsNumpy()]
            zero_point = [int(z) for z in q.ZeroPointAsNumpy()] if q.ZeroPointLength() else []
            qdim = int(q.QuantizedDimension())
        raw = model.Buffers(t.Buffer()).DataAsNumpy() if t.Buffer() else 0
        values = None
        if not isinstance(raw, int) and len(raw):
            values = np.frombuffer(raw.tobytes(), dtype="<" + np.dtype(dtype).str[1:])
            values = values.reshape(shape).astype(dtype)
        tensor_name = (t.Name() or b"").decode("utf-8", "replace")
        tensors.append(Tensor(tensor_name, shape, dtype, scale, zero_point, qdim, values))
    operators = []
    for index in range(graph.OperatorsLength()):
        op = graph.Operators(index)
        code = model.OperatorCodes(op.OpcodeIndex())
        builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
        if builtin not in OPNAMES:
            raise TFLiteError(f"{name}: operator {index} uses unsupported builtin {builtin}")
        op_name = OPNAMES[builtin]
        inputs = [int(i) for i in op.InputsAsNumpy()] if op.InputsLength() else []
        outputs = [int(i) for i in op.OutputsAsNumpy()] if op.OutputsLength() else []
        operators.append(
            Operator(op_name, inputs, outputs, _options(op_name, op), int(code.Version()))
        )
    description = (model.Description() or b"").decode("utf-8", "replace")
    graph_inputs = [int(i) for i in graph.InputsAsNumpy()]
    graph_outputs = [int(i) for i in graph.OutputsAsNumpy()]
    return Model(tensors, operators, graph_inputs, graph_outputs, description)
