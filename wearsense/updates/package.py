"""Model packages, format version 1 (docs/model-package.md): build, sign, parse, verify.
The layout itself (``build``, ``parse`` and the header's names) is
``wearsense.protocol.package``, below the firmware binding and the emulator that read it;
every name of it stays importable from here.

A package is ``header (128 B) | model .tflite | zero padding to 16 | self-test (32 B) |
Ed25519 signature (64 B)``; the signature covers every byte before it. ``parse`` checks the
header exactly as the firmware's ``ws_pkg_parse_header`` does and ``verify`` runs the
firmware's steps 1-5 (bounds, hash, signature, task/classes/placement, anti-rollback) with
the same status codes. ``build_from_tflite`` reads the input/output specification from
the model and computes the self-test's expected output with the C interpreter (the
device's own), and ``wearsense.firmware.package`` runs all seven device steps.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

import numpy as np

from wearsense.firmware.nn import InterpreterError, NNModel
from wearsense.protocol.errors import Status
from wearsense.protocol.package import (
    ALIGN,
    CLASS_ENUMS,
    DTYPE_INT8,
    FLAG_DEV_KEY,
    FORMAT_VERSION,
    HEADER,
    HEADER_SIZE,
    KEY_ID_SIZE,
    MAGIC,
    MAX_CHANNELS,
    MAX_OUTPUTS,
    MAX_SAMPLE_RATE_HZ,
    MAX_SIZE,
    PRNG_XORSHIFT32,
    SELFTEST,
    SELFTEST_SIZE,
    SIGNATURE_SIZE,
    Expectation,
    InputSpec,
    ModelPackage,
    OutputSpec,
    PackageHeader,
    Placement,
    SelfTest,
    Task,
    build,
    class_code,
    class_map_ok,
    parse,
    selftest_input,
)
from wearsense.updates.errors import PackageError
from wearsense.updates.keys import PublicKey, SigningKey


@dataclasses.dataclass(frozen=True)
class InterpreterSpec:
    """What the C interpreter says about a .tflite's one int8 input and one int8 output."""

    window: int  # samples of the input window (W of [1, 1, W, C])
    channels: int  # C
    input_scale: float
    input_zero_point: int
    outputs: int  # values of the output (one per class)
    output_scale: float
    output_zero_point: int


def interpreter_spec(model: bytes) -> InterpreterSpec:
    """What the C interpreter says about a .tflite (`InterpreterSpec`). Raises PackageError
    (PKG_MODEL) when the interpreter refuses it or it is not one int8 input [1, 1, W, C]
    (or [1, W, C] / [W, C]) and one int8 output."""
    try:
        nn = NNModel(model, "model")
        inputs, outputs = nn.inputs, nn.outputs
    except InterpreterError as exc:
        raise PackageError(Status.PKG_MODEL, f"the interpreter refuses the model: {exc}") from exc
    if len(inputs) != 1 or len(outputs) != 1:
        raise PackageError(Status.PKG_MODEL, "a model needs exactly one input and one output")
    inp, out = inputs[0], outputs[0]
    if inp.dtype != np.int8 or out.dtype != np.int8:
        raise PackageError(Status.PKG_MODEL, "input and output must be int8")
    shape = [d for d in inp.shape]
    while len(shape) > 2 and shape[0] == 1:
        shape.pop(0)
    if len(shape) != 2:
        raise PackageError(Status.PKG_MODEL, f"input shape {inp.shape} is not [1, 1, W, C]")
    window, channels = shape
    return InterpreterSpec(
        window, channels, inp.scale, inp.zero_point, out.nbytes, out.scale, out.zero_point
    )


def selftest_output(model: bytes, seed: int) -> tuple[int, ...]:
    """The exact int8 output of the C interpreter (the device's) for the self-test input."""
    try:
        nn = NNModel(model, "model")
        info = nn.inputs[0]
        x = np.frombuffer(selftest_input(seed, info.nbytes), dtype=np.int8).reshape(info.shape)
        return tuple(int(v) for v in nn.run(x)[0].ravel())
    except InterpreterError as exc:
        raise PackageError(Status.PKG_SELFTEST, f"the self-test run fails: {exc}") from exc


def build_from_tflite(
    model: bytes,
    *,
    task: int,
    placement: int,
    model_version: int,
    sample_rate_hz: int,
    class_codes: Sequence[int],
    selftest_seed: int,
) -> bytes:
    """An unsigned package for an int8 .tflite: the input and output specification are
    read from the model by the C interpreter, and the self-test's expected output is what
    the C interpreter computes for the self-test input."""
    spec = interpreter_spec(model)
    if spec.outputs != len(class_codes):
        raise PackageError(
            Status.PKG_CLASSES,
            f"the model has {spec.outputs} outputs but {len(class_codes)} classes",
        )
    if not 1 <= selftest_seed <= 0xFFFFFFFF:
        raise PackageError(Status.PKG_BOUNDS, "self-test seed must be in 1..2^32-1")
    return build(
        model,
        task=task,
        placement=placement,
        model_version=model_version,
        input_spec=InputSpec(
            sample_rate_hz, spec.window, spec.channels, spec.input_scale, spec.input_zero_point
        ),
        output_spec=OutputSpec(tuple(class_codes), spec.output_scale, spec.output_zero_point),
        selftest=SelfTest(selftest_seed, selftest_output(model, selftest_seed)),
    )


def sign(package: bytes, key: SigningKey) -> bytes:
    """Names the key in the header, sets the DEV flag exactly when ``key`` is the
    development key, and signs everything before the signature."""
    parsed = parse(package)
    raw = bytearray(parsed.raw)
    raw[7] = FLAG_DEV_KEY if key.is_dev else 0
    raw[64 : 64 + KEY_ID_SIZE] = key.public.key_id
    signed_size = parsed.header.signed_size
    raw[signed_size:] = key.sign(bytes(raw[:signed_size]))
    return bytes(raw)


def verify(data: bytes, public_key: PublicKey, expect: Expectation | None = None) -> ModelPackage:
    """Steps 1-5 as the firmware runs them (expect=None skips step 4 and 5); raises
    PackageError with the firmware's status for the first failure."""
    package = parse(data)
    header = package.header
    if hashlib.sha256(package.model).digest() != header.model_sha256:
        raise PackageError(Status.PKG_HASH, "SHA-256 of the model differs from the header")
    if header.key_id != public_key.key_id:
        raise PackageError(
            Status.PKG_KEY,
            f"signed by key {header.key_id.hex()}, expected {public_key.key_id.hex()}"
            + (" (a DEV-signed package)" if header.dev_key else ""),
        )
    if not public_key.verify(package.signature, package.signed_part):
        raise PackageError(Status.PKG_SIGNATURE, "Ed25519 signature does not verify")
    if expect is None:
        return package
    if header.task != expect.task:
        raise PackageError(Status.PKG_TASK, f"package for task {header.task}, slot {expect.task}")
    if not class_map_ok(header.task, header.output.class_codes):
        raise PackageError(Status.PKG_CLASSES, "class map invalid for the task")
    if header.placement != expect.placement:
        raise PackageError(
            Status.PKG_PLACEMENT,
            f"package for placement {header.placement}, device at {expect.placement}",
        )
    if header.model_version <= expect.installed_version:
        raise PackageError(
            Status.PKG_ROLLBACK,
            f"version {header.model_version} is not newer than {expect.installed_version}",
        )
    return package


# the format's names, kept importable from here for every caller
__all__ = [
    "ALIGN",
    "CLASS_ENUMS",
    "DTYPE_INT8",
    "Expectation",
    "FLAG_DEV_KEY",
    "FORMAT_VERSION",
    "HEADER",
    "HEADER_SIZE",
    "InputSpec",
    "MAGIC",
    "MAX_CHANNELS",
    "MAX_OUTPUTS",
    "MAX_SAMPLE_RATE_HZ",
    "MAX_SIZE",
    "ModelPackage",
    "OutputSpec",
    "PRNG_XORSHIFT32",
    "PackageHeader",
    "Placement",
    "SELFTEST",
    "SELFTEST_SIZE",
    "SIGNATURE_SIZE",
    "SelfTest",
    "Task",
    "build",
    "build_from_tflite",
    "class_code",
    "class_map_ok",
    "interpreter_spec",
    "parse",
    "selftest_input",
    "selftest_output",
    "sign",
    "verify",
]
