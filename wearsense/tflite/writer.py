"""Serialises a `Model` description into a `.tflite` flatbuffer (schema version 3).

Constant data sits in the model's ``buffers`` with every buffer aligned to 16 bytes
from the start of the file, so the firmware can read weights in place from flash.
Buffer 0 is the empty buffer the schema reserves for tensors without data.
"""

from __future__ import annotations

from typing import Any

import flatbuffers
import numpy as np

from wearsense.tflite.model import (
    ACTIVATIONS,
    OP_VERSIONS,
    OPCODES,
    PADDINGS,
    TENSOR_TYPES,
    Model,
    TFLiteError,
)

BUFFER_ALIGNMENT = 16
SCHEMA_VERSION = 3

# op -> (BuiltinOptions union type, [(option name, kind, vtable slot, default)])
_OPTIONS: dict[str, tuple[int, list[tuple[str, str, int, Any]]]] = {
    "CONV_2D": (
        1,
        [
            ("padding", "padding", 0, "VALID"),
            ("stride_w", "int32", 1, 1),
            ("stride_h", "int32", 2, 1),
            ("fused_activation_function", "act", 3, "NONE"),
            ("dilation_w_factor", "int32", 4, 1),
            ("dilation_h_factor", "int32", 5, 1),
        ],
    ),
    "DEPTHWISE_CONV_2D": (
        2,
        [
            ("padding", "padding", 0, "VALID"),
            ("stride_w", "int32", 1, 1),
            ("stride_h", "int32", 2, 1),
            ("depth_multiplier", "int32", 3, 1),
            ("fused_activation_function", "act", 4, "NONE"),
            ("dilation_w_factor", "int32", 5, 1),
            ("dilation_h_factor", "int32", 6, 1),
        ],
    ),
    "AVERAGE_POOL_2D": (
        5,
        [
            ("padding", "padding", 0, "VALID"),
            ("stride_w", "int32", 1, 1),
            ("stride_h", "int32", 2, 1),
            ("filter_width", "int32", 3, 1),
            ("filter_height", "int32", 4, 1),
            ("fused_activation_function", "act", 5, "NONE"),
        ],
    ),
    "FULLY_CONNECTED": (
        8,
        [("fused_activation_function", "act", 0, "NONE"), ("keep_num_dims", "bool", 2, False)],
    ),
    "SOFTMAX": (9, [("beta", "float32", 0, 1.0)]),
    "ADD": (11, [("fused_activation_function", "act", 0, "NONE")]),
    "RESHAPE": (17, []),
    "MEAN": (27, [("keep_dims", "bool", 0, False)]),
    "DEQUANTIZE": (38, []),
    "MUL": (21, [("fused_activation_function", "act", 0, "NONE")]),
    "CONCATENATION": (
        10,
        [("axis", "int32", 0, 0), ("fused_activation_function", "act", 1, "NONE")],
    ),
    "PAD": (22, []),
    "TRANSPOSE": (26, []),
    "SLICE": (48, []),
    "STRIDED_SLICE": (
        32,
        [
            ("begin_mask", "int32", 0, 0),
            ("end_mask", "int32", 1, 0),
            ("ellipsis_mask", "int32", 2, 0),
            ("new_axis_mask", "int32", 3, 0),
            ("shrink_axis_mask", "int32", 4, 0),
        ],
    ),
    "QUANTIZE": (89, []),
    "LEAKY_RELU": (75, [("alpha", "float32", 0, 0.0)]),
}
_OPTIONS["MAX_POOL_2D"] = _OPTIONS["AVERAGE_POOL_2D"]


def _int_vector(builder: flatbuffers.Builder, values: list[int], kind: str = "int32") -> int:
    size = 8 if kind == "int64" else 4
    builder.StartVector(size, len(values), size)
    for value in reversed(values):
        if kind == "int64":
            builder.PrependInt64(int(value))
        else:
            builder.PrependInt32(int(value))
    return builder.EndVector()


def _float_vector(builder: flatbuffers.Builder, values: list[float]) -> int:
    builder.StartVector(4, len(values), 4)
    for value in reversed(values):
        builder.PrependFloat32(float(value))
    return builder.EndVector()


def _offset_vector(builder: flatbuffers.Builder, offsets: list[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _aligned_bytes(builder: flatbuffers.Builder, data: bytes) -> int:
    builder.StartVector(1, len(data), BUFFER_ALIGNMENT)
    builder.head = builder.head - len(data)
    builder.Bytes[builder.head : builder.head + len(data)] = data
    return builder.EndVector()


def _options_table(builder: flatbuffers.Builder, op: str, options: dict[str, Any]) -> int:
    _, fields = _OPTIONS[op]
    known = {name for name, *_ in fields}
    unknown = set(options) - known
    if unknown:
        raise TFLiteError(f"{op}: unknown options {sorted(unknown)}")
    builder.StartObject(max((slot for _, _, slot, _ in fields), default=-1) + 1)
    for name, kind, slot, default in fields:
        value = options.get(name, default)
        if kind == "padding":
            builder.PrependInt8Slot(slot, PADDINGS[value], 0)
        elif kind == "act":
            if value not in ACTIVATIONS:
                raise TFLiteError(f"{op}: unknown activation {value!r}")
            builder.PrependInt8Slot(slot, ACTIVATIONS[value], 0)
        elif kind == "int32":
            builder.PrependInt32Slot(slot, int(value), 0)
        elif kind == "bool":
            builder.PrependBoolSlot(slot, bool(value), False)
        else:
            builder.PrependFloat32Slot(slot, float(value), 0.0)
    return builder.EndObject()


def write_tflite(model: Model) -> bytes:
    """The `.tflite` bytes of ``model`` (validated first; raises `TFLiteError`)."""
    model.validate()
    builder = flatbuffers.Builder(4096)
    builder.ForceDefaults(True)  # every option explicit: readers need not know defaults

    # Buffers: 0 is empty; each constant tensor gets its own.
    buffer_data: list[bytes] = [b""]
    tensor_buffer: list[int] = []
    for tensor in model.tensors:
        if tensor.data is None:
            tensor_buffer.append(0)
        else:
            tensor_buffer.append(len(buffer_data))
            buffer_data.append(
                np.ascontiguousarray(tensor.data).astype("<" + tensor.data.dtype.str[1:]).tobytes()
            )
    buffer_offsets = []
    for data in buffer_data:
        data_offset = _aligned_bytes(builder, data) if data else None
        builder.StartObject(3)
        if data_offset is not None:
            builder.PrependUOffsetTRelativeSlot(0, data_offset, 0)
        buffer_offsets.append(builder.EndObject())
    buffers_vector = _offset_vector(builder, buffer_offsets)

    tensor_offsets = []
    for tensor, buffer_index in zip(model.tensors, tensor_buffer, strict=True):
        name = builder.CreateString(tensor.name)
        shape = _int_vector(builder, list(tensor.shape))
        quant = None
        if tensor.scale:
            scale = _float_vector(builder, tensor.scale)
            zero_point = _int_vector(builder, tensor.zero_point, "int64")
            builder.StartObject(7)
            builder.PrependUOffsetTRelativeSlot(2, scale, 0)
            builder.PrependUOffsetTRelativeSlot(3, zero_point, 0)
            builder.PrependInt32Slot(6, tensor.quantized_dimension, 0)
            quant = builder.EndObject()
        builder.StartObject(10)
        builder.PrependUOffsetTRelativeSlot(0, shape, 0)
        builder.PrependInt8Slot(1, TENSOR_TYPES[tensor.dtype], 0)
        builder.PrependUint32Slot(2, buffer_index, 0)
        builder.PrependUOffsetTRelativeSlot(3, name, 0)
        if quant is not None:
            builder.PrependUOffsetTRelativeSlot(4, quant, 0)
        tensor_offsets.append(builder.EndObject())
    tensors_vector = _offset_vector(builder, tensor_offsets)

    opcode_keys: list[tuple[str, int]] = []
    operator_offsets = []
    for op in model.operators:
        key = (op.op, op.version or OP_VERSIONS.get(op.op, 1))
        if key not in opcode_keys:
            opcode_keys.append(key)
        options = _options_table(builder, op.op, op.options) if op.op in _OPTIONS else None
        inputs = _int_vector(builder, op.inputs)
        outputs = _int_vector(builder, op.outputs)
        builder.StartObject(9)
        builder.PrependUint32Slot(0, opcode_keys.index(key), 0)
        builder.PrependUOffsetTRelativeSlot(1, inputs, 0)
        builder.PrependUOffsetTRelativeSlot(2, outputs, 0)
        if options is not None:
            builder.PrependUint8Slot(3, _OPTIONS[op.op][0], 0)
            builder.PrependUOffsetTRelativeSlot(4, options, 0)
        operator_offsets.append(builder.EndObject())
    operators_vector = _offset_vector(builder, operator_offsets)

    graph_name = builder.CreateString("main")
    graph_inputs = _int_vector(builder, model.inputs)
    graph_outputs = _int_vector(builder, model.outputs)
    builder.StartObject(5)
    builder.PrependUOffsetTRelativeSlot(0, tensors_vector, 0)
    builder.PrependUOffsetTRelativeSlot(1, graph_inputs, 0)
    builder.PrependUOffsetTRelativeSlot(2, graph_outputs, 0)
    builder.PrependUOffsetTRelativeSlot(3, operators_vector, 0)
    builder.PrependUOffsetTRelativeSlot(4, graph_name, 0)
    subgraph = builder.EndObject()
    subgraphs_vector = _offset_vector(builder, [subgraph])

    # One signature ("serving_default") so LiteRT tools that work by signature
    # (calibrators, the signature runner) accept the file.
    def tensor_maps(indices: list[int]) -> int:
        maps = []
        for index in indices:
            map_name = builder.CreateString(model.tensors[index].name)
            builder.StartObject(2)
            builder.PrependUOffsetTRelativeSlot(0, map_name, 0)
            builder.PrependUint32Slot(1, index, 0)
            maps.append(builder.EndObject())
        return _offset_vector(builder, maps)

    signature_inputs = tensor_maps(model.inputs)
    signature_outputs = tensor_maps(model.outputs)
    signature_key = builder.CreateString("serving_default")
    builder.StartObject(5)
    builder.PrependUOffsetTRelativeSlot(0, signature_inputs, 0)
    builder.PrependUOffsetTRelativeSlot(1, signature_outputs, 0)
    builder.PrependUOffsetTRelativeSlot(2, signature_key, 0)
    builder.PrependUint32Slot(4, 0, 0)
    signatures_vector = _offset_vector(builder, [builder.EndObject()])

    code_offsets = []
    for name, version in opcode_keys:
        code = OPCODES[name]
        builder.StartObject(4)
        builder.PrependInt8Slot(0, min(code, 127), 0)
        builder.PrependInt32Slot(2, version, 0)
        builder.PrependInt32Slot(3, code, 0)
        code_offsets.append(builder.EndObject())
    codes_vector = _offset_vector(builder, code_offsets)
    description = builder.CreateString(model.description)

    builder.StartObject(8)
    builder.PrependUint32Slot(0, SCHEMA_VERSION, 0)
    builder.PrependUOffsetTRelativeSlot(1, codes_vector, 0)
    builder.PrependUOffsetTRelativeSlot(2, subgraphs_vector, 0)
    builder.PrependUOffsetTRelativeSlot(3, description, 0)
    builder.PrependUOffsetTRelativeSlot(4, buffers_vector, 0)
    builder.PrependUOffsetTRelativeSlot(7, signatures_vector, 0)
    root = builder.EndObject()
    builder.Finish(root, file_identifier=b"TFL3")
    return bytes(builder.Output())
