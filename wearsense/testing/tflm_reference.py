"""TFLM (the `tflite-micro` package, ``dev`` extra) as the reference our interpreter
must match byte for byte, and TFLM's own arena size for a model.

TFLM's Python runtime takes a fixed arena; the smallest arena it accepts is found by
bisection over constructing the interpreter (it allocates everything up front).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import numpy as np


def _runtime() -> Any:
    try:
        from tflite_micro.python.tflite_micro import runtime
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "the TFLM reference needs `pip install tflite-micro` (dev extra)"
        ) from exc
    return runtime


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """TFLM reports every failed allocation on the C stderr; silence it while probing."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def tflm_run(
    data: bytes, inputs: list[np.ndarray], outputs: int = 1, arena_size: int = 1 << 20
) -> list[np.ndarray]:
    """TFLM's outputs for ``inputs`` (``outputs``: how many output tensors to read)."""
    runtime = _runtime()
    interpreter = runtime.Interpreter.from_bytes(data, arena_size=arena_size)
    for index, array in enumerate(inputs):
        interpreter.set_input(array, index)
    interpreter.invoke()
    return [np.array(interpreter.get_output(index)) for index in range(outputs)]


def tflm_arena_bytes(data: bytes, high: int = 1 << 22) -> int:
    """The smallest arena (bytes) with which TFLM accepts the model.

    Each probe runs in a forked child: with some arenas that are too small TFLM
    crashes instead of failing (seen on an ai-edge-quantizer model), and a crash
    counts as "does not fit"."""
    runtime = _runtime()

    def fits(size: int) -> bool:
        pid = os.fork()
        if pid == 0:  # child: report by exit status only
            code = 1
            try:
                with quiet_stderr():
                    runtime.Interpreter.from_bytes(data, arena_size=size)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0

    if not fits(high):
        raise RuntimeError(f"TFLM rejects the model even with {high} bytes of arena")
    low = 0
    while high - low > 1:
        mid = (low + high) // 2
        if fits(mid):
            high = mid
        else:
            low = mid
    return high


def litert_ref_run(data: bytes, inputs: list[np.ndarray], outputs: int = 1) -> list[np.ndarray]:
    """LiteRT's reference kernels (``OpResolverType.BUILTIN_REF``), for comparison only:
    where LiteRT and TFLM disagree, TFLM decides."""
    from ai_edge_litert import interpreter as litert

    runner = litert.Interpreter(
        model_content=data, experimental_op_resolver_type=litert.OpResolverType.BUILTIN_REF
    )
    runner.allocate_tensors()
    for detail, array in zip(runner.get_input_details(), inputs, strict=True):
        runner.set_tensor(detail["index"], array)
    runner.invoke()
    details = runner.get_output_details()[:outputs]
    return [np.array(runner.get_tensor(d["index"])) for d in details]
