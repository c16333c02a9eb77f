"""The quantized description of a network that `wearsense.tflite` writes and reads.

A model is a list of tensors (shape, element type, quantization, constant data), a
list of operators (builtin op, input/output tensor indices, options) and the graph's
input and output tensor indices, in the order TFLite's schema keeps them. Weights are
per-channel symmetric int8, biases int32 with scale ``input_scale * weight_scale`` and
zero point 0, activations per-tensor asymmetric int8: the TFLite quantization spec.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class TFLiteError(ValueError):
    """A `.tflite` file or a model description is malformed or uses what we do not support."""


# Builtin operator codes from the TFLite schema (the ones the firmware interpreter knows).
OPCODES: dict[str, int] = {
    "ADD": 0,
    "AVERAGE_POOL_2D": 1,
    "CONCATENATION": 2,
    "CONV_2D": 3,
    "DEPTHWISE_CONV_2D": 4,
    "DEQUANTIZE": 6,
    "FULLY_CONNECTED": 9,
    "LOGISTIC": 14,
    "MAX_POOL_2D": 17,
    "MUL": 18,
    "RESHAPE": 22,
    "SOFTMAX": 25,
    "TANH": 28,
    "PAD": 34,
    "TRANSPOSE": 39,
    "MEAN": 40,
    "STRIDED_SLICE": 45,
    "SLICE": 65,
    "LEAKY_RELU": 98,
    "QUANTIZE": 114,
    "EXP": 47,  # known to the reader only: the firmware rejects it (WS_ERR_NN_OP)
}
OPNAMES: dict[int, str] = {code: name for name, code in OPCODES.items()}

# Operator versions we write: those the TFLite converter uses for int8 models.
OP_VERSIONS: dict[str, int] = {
    "ADD": 2,
    "AVERAGE_POOL_2D": 2,
    "CONV_2D": 3,
    "DEPTHWISE_CONV_2D": 3,
    "FULLY_CONNECTED": 4,
    "MAX_POOL_2D": 2,
    "RESHAPE": 1,
    "SOFTMAX": 2,
    "MEAN": 2,
    "QUANTIZE": 1,
    "DEQUANTIZE": 2,
    "MUL": 2,
    "CONCATENATION": 2,
    "PAD": 2,
    "TRANSPOSE": 2,
    "SLICE": 2,
    "LOGISTIC": 2,
    "TANH": 2,
    "STRIDED_SLICE": 2,
    "LEAKY_RELU": 2,
}

# TensorType enum of the schema, and the numpy dtype of each type we use.
TENSOR_TYPES: dict[str, int] = {"float32": 0, "int32": 2, "int8": 9}
TYPE_NAMES: dict[int, str] = {code: name for name, code in TENSOR_TYPES.items()}

ACTIVATIONS: dict[str, int] = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
PADDINGS: dict[str, int] = {"SAME": 0, "VALID": 1}


@dataclass
class Tensor:
    """One tensor: ``data`` is set for constants (weights, biases, shapes)."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "int8"
    scale: list[float] = field(default_factory=list)
    zero_point: list[int] = field(default_factory=list)
    quantized_dimension: int = 0
    data: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.shape = tuple(int(d) for d in self.shape)
        if self.dtype not in TENSOR_TYPES:
            raise TFLiteError(f"tensor {self.name!r}: unsupported dtype {self.dtype!r}")
        if self.data is not None:
            self.data = np.ascontiguousarray(self.data, dtype=self.dtype)
            if self.data.shape != self.shape:
                raise TFLiteError(
                    f"tensor {self.name!r}: data shape {self.data.shape} != shape {self.shape}"
                )

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize


@dataclass
class Operator:
    """One builtin operator; ``options`` holds the schema's option fields in snake_case
    (``padding``, ``stride_w``, ``fused_activation_function``, ...)."""

    op: str
    inputs: list[int]
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)
    version: int | None = None

    def __post_init__(self) -> None:
        if self.op not in OPCODES:
            raise TFLiteError(f"unsupported operator {self.op!r}")


@dataclass
class Model:
    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int]
    outputs: list[int]
    description: str = "wearsense"

    def validate(self) -> None:
        """Checks indices and the quantization rules the writer relies on."""
        count = len(self.tensors)
        for index in [*self.inputs, *self.outputs]:
            if not 0 <= index < count:
                raise TFLiteError(f"graph input/output index {index} out of range")
        for number, op in enumerate(self.operators):
            for index in [*op.inputs, *op.outputs]:
                if not -1 <= index < count:
                    raise TFLiteError(f"operator {number} ({op.op}): tensor {index} out of range")
        for tensor in self.tensors:
            if len(tensor.scale) != len(tensor.zero_point):
                raise TFLiteError(f"tensor {tensor.name!r}: scale/zero_point lengths differ")
            if any(not np.isfinite(s) or s <= 0 for s in tensor.scale):
                raise TFLiteError(f"tensor {tensor.name!r}: scales must be positive")
            if len(tensor.scale) > 1 and (
                not 0 <= tensor.quantized_dimension < len(tensor.shape)
                or tensor.shape[tensor.quantized_dimension] != len(tensor.scale)
            ):
                raise TFLiteError(f"tensor {tensor.name!r}: per-channel scales do not match shape")
