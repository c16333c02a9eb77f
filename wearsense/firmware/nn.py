"""The firmware's int8 interpreter (firmware/src/nn) called from Python.

`NNModel` loads a `.tflite` exactly as the device does: the file is copied once into
a 16-byte-aligned buffer (standing in for flash), validated and planned by
``ws_nn_load``, and run in an arena of exactly ``ws_nn_arena_size`` bytes.
A model the firmware rejects raises `InterpreterError` carrying its status code.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from wearsense.firmware import core

# Status codes of the interpreter (firmware/include/ws_status.h, 0x40-0x5F).
STATUS_NAMES: dict[int, str] = {
    0x06: "WS_ERR_ARG",
    0x40: "WS_ERR_NN_FORMAT",
    0x41: "WS_ERR_NN_BOUNDS",
    0x42: "WS_ERR_NN_ALIGN",
    0x43: "WS_ERR_NN_SCHEMA",
    0x44: "WS_ERR_NN_LIMIT",
    0x45: "WS_ERR_NN_OP",
    0x46: "WS_ERR_NN_OP_VERSION",
    0x47: "WS_ERR_NN_TYPE",
    0x48: "WS_ERR_NN_SHAPE",
    0x49: "WS_ERR_NN_QUANT",
    0x4A: "WS_ERR_NN_OPTIONS",
    0x4B: "WS_ERR_NN_INDEX",
    0x4C: "WS_ERR_NN_GRAPH",
    0x4D: "WS_ERR_NN_ARENA",
    0x4E: "WS_ERR_NN_NOT_READY",
    0x4F: "WS_ERR_NN_BUFFER",
}
_DTYPES = {0: np.float32, 2: np.int32, 9: np.int8}
_ALIGN = 16


class InterpreterError(RuntimeError):
    """The C interpreter returned a status other than WS_OK (``status``, ``name``)."""

    def __init__(self, status: int, what: str, op_index: int = -1) -> None:
        self.status = int(status)
        self.name = STATUS_NAMES.get(self.status, f"status 0x{self.status:02x}")
        self.op_index = op_index
        where = f" at operator {op_index}" if op_index >= 0 else ""
        super().__init__(f"{what}: {self.name} (0x{self.status:02x}){where}")


@dataclass(frozen=True)
class TensorInfo:
    shape: tuple[int, ...]
    dtype: Any
    scale: float
    zero_point: int
    nbytes: int


def _aligned(ffi: Any, size: int) -> tuple[Any, Any]:
    """A buffer of ``size`` bytes whose start is 16-byte aligned: (owner, pointer)."""
    owner = ffi.new("uint8_t[]", size + _ALIGN)
    address = int(ffi.cast("uintptr_t", owner))
    pointer = ffi.cast("uint8_t *", owner) + (-address % _ALIGN)
    return owner, pointer


class NNModel:
    """One `.tflite` loaded into the C interpreter (plain or sanitizer build)."""

    def __init__(
        self,
        data: bytes,
        name: str = "<model>",
        module: ModuleType | None = None,
        arena_bytes: int | None = None,
    ) -> None:
        self.module = module or core()
        self.ffi, self.lib = self.module.ffi, self.module.lib
        self.name = name
        self._file_owner, self._file = _aligned(self.ffi, max(len(data), 1))
        self.ffi.memmove(self._file, data, len(data))
        size = int(self.lib.ws_nn_model_struct_size())
        self._model_owner, pointer = _aligned(self.ffi, size)
        self._model = self.ffi.cast("ws_nn_model_t *", pointer)
        status = self.lib.ws_nn_load(self._model, self._file, len(data))
        if status != 0:
            raise InterpreterError(
                status, f"{name}: rejected", self.lib.ws_nn_failed_op(self._model)
            )
        self.arena_bytes = int(self.lib.ws_nn_arena_size(self._model))
        parts = self.ffi.new("uint32_t[3]")
        self.lib.ws_nn_arena_parts(self._model, parts, parts + 1, parts + 2)
        # the plan, computed once by ws_nn_load: activations (in-place pairs and
        # first-fit placement), per-channel requantization, kernel scratch
        self.arena_parts = {
            "activations": int(parts[0]),
            "requantization": int(parts[1]),
            "scratch": int(parts[2]),
        }
        given = self.arena_bytes if arena_bytes is None else arena_bytes
        self._arena_owner, self._arena = _aligned(self.ffi, max(given, 1))
        status = self.lib.ws_nn_set_arena(self._model, self._arena, given)
        if status != 0:
            raise InterpreterError(status, f"{name}: arena of {given} bytes")

    @property
    def macs(self) -> int:
        return int(self.lib.ws_nn_macs(self._model))

    @property
    def op_codes(self) -> list[int]:
        count = int(self.lib.ws_nn_op_count(self._model))
        return [int(self.lib.ws_nn_op_code(self._model, i)) for i in range(count)]

    def _info(self, output: bool, index: int) -> TensorInfo:
        desc = self.ffi.new("ws_nn_tensor_desc_t *")
        fn = self.lib.ws_nn_output_desc if output else self.lib.ws_nn_input_desc
        status = fn(self._model, index, desc)
        if status != 0:
            raise InterpreterError(status, f"{self.name}: tensor {index}")
        shape = tuple(int(desc.dims[i]) for i in range(desc.rank))
        return TensorInfo(
            shape, _DTYPES[desc.type], float(desc.scale), int(desc.zero_point), int(desc.bytes)
        )

    @property
    def inputs(self) -> list[TensorInfo]:
        return [self._info(False, i) for i in range(self.lib.ws_nn_input_count(self._model))]

    @property
    def outputs(self) -> list[TensorInfo]:
        return [self._info(True, i) for i in range(self.lib.ws_nn_output_count(self._model))]

    def run(self, *inputs: np.ndarray) -> list[np.ndarray]:
        """Runs one inference; each input must match its tensor's dtype and element count."""
        infos = self.inputs
        if len(inputs) != len(infos):
            raise ValueError(f"{self.name}: expects {len(infos)} inputs, got {len(inputs)}")
        for index, (array, info) in enumerate(zip(inputs, infos, strict=True)):
            array = np.asarray(array)
            if array.dtype != info.dtype or array.size * array.itemsize != info.nbytes:
                raise ValueError(
                    f"{self.name}: input {index} must be {np.dtype(info.dtype).name} with shape "
                    f"{info.shape}, got {array.dtype} {array.shape}"
                )
            pointer = self.lib.ws_nn_input_data(self._model, index)
            raw = np.ascontiguousarray(array).tobytes()
            self.ffi.memmove(pointer, raw, len(raw))
        status = self.lib.ws_nn_invoke(self._model)
        if status != 0:
            raise InterpreterError(status, f"{self.name}: invoke")
        results = []
        for index, info in enumerate(self.outputs):
            pointer = self.lib.ws_nn_output_data(self._model, index)
            raw = bytes(self.ffi.buffer(pointer, info.nbytes))
            results.append(np.frombuffer(raw, dtype=info.dtype).reshape(info.shape).copy())
        return results


def run_model(data: bytes, *inputs: np.ndarray) -> tuple[list[np.ndarray], int]:
    """(outputs, arena bytes needed) of one inference of the `.tflite` ``data``."""
    model = NNModel(data)
    return model.run(*inputs), model.arena_bytes
