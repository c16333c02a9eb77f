"""Malicious and unacceptable packages, and a runner that feeds them to the firmware's
``ws_pkg_verify``. The tests run them on small packages (also under the sanitizers);
``make bench`` runs them on a larger one (benchmarks/bench_updates.py). The untrusted and
tampered ones also go to the package registry (:func:`registry_attacks`,
:func:`run_registry`), which must register none of them.

The interpreter hooks used here accept every model and report the expected self-test
output (``worst_case_hooks``): the worst interpreter there could be, so whatever is
rejected was rejected by the package checks alone. The two interpreter-step cases use a
hook that rejects the model and one that reports a different output.

The model bytes are opaque to the package format (the interpreter validates them), so a
deterministic pseudo-random blob stands in for a .tflite here.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from wearsense.firmware.nn import NNModel
from wearsense.firmware.package import FirmwarePackages
from wearsense.protocol.errors import Status
from wearsense.tflite import write_tflite
from wearsense.tflite.builder import GraphBuilder, activation_qparams
from wearsense.updates import package as pkg
from wearsense.updates.errors import PackageError
from wearsense.updates.keys import SigningKey
from wearsense.updates.registry import Registry, RegistryError, UntrustedPackage

ACCEPT = int(Status.OK)


@dataclasses.dataclass(frozen=True)
class Attack:
    name: str
    data: bytes
    expect: pkg.Expectation
    status: Status  # what the device must answer
    validate_model: Callable[[Any, bytes], int] | None = None
    run_self_test: Callable[[Any, bytes], tuple[int, list[int]]] | None = None


def sample_package(key: SigningKey, model_size: int, seed: int = 1, version: int = 5) -> bytes:
    """A valid signed activity package (waist, 8 classes) around a blob of model_size."""
    rng = random.Random(seed)
    return pkg.sign(
        pkg.build(
            rng.randbytes(model_size),
            task=pkg.Task.ACTIVITY,
            placement=pkg.Placement.WAIST,
            model_version=version,
            input_spec=pkg.InputSpec(50, 128, 6, 0.0625, 0),
            output_spec=pkg.OutputSpec(tuple(range(8)), 1 / 256, -128),
            selftest=pkg.SelfTest(0x5EED, tuple(rng.randrange(-128, 128) for _ in range(8))),
        ),
        key,
    )


def example_tflite(seed: int = 5, window: int = 32, channels: int = 3, outputs: int = 8) -> bytes:
    """A small real int8 model (conv1d + RELU + dense, random weights) on a
    [1, 1, window, channels] input, for tests that need the interpreter to run something."""
    import numpy as np

    rng = np.random.default_rng(seed)
    g = GraphBuilder("wearsense package example")
    x = g.input((1, 1, window, channels), activation_qparams(-2.0, 2.0))
    weights = rng.normal(size=(4, channels, 5)) * 0.3
    y = g.conv1d(x, weights, rng.normal(size=4) * 0.1, activation_qparams(0.0, 4.0),
                 activation="RELU")  # fmt: skip
    dense = rng.normal(size=(outputs, (window - 4) * 4)) * 0.1
    g.output(g.dense(y, dense, rng.normal(size=outputs) * 0.1, activation_qparams(-8.0, 8.0)))
    return write_tflite(g.build())


def example_package(key: SigningKey, version: int = 2, seed: int = 5) -> bytes:
    """A signed activity/waist package around ``example_tflite``, built as the CLI does."""
    return pkg.sign(
        pkg.build_from_tflite(
            example_tflite(seed),
            task=pkg.Task.ACTIVITY,
            placement=pkg.Placement.WAIST,
            model_version=version,
            sample_rate_hz=50,
            class_codes=tuple(range(8)),
            selftest_seed=0xC0FFEE,
        ),
        key,
    )


def expectation_for(data: bytes, installed_version: int = 0) -> pkg.Expectation:
    header = pkg.parse(data).header
    return pkg.Expectation(header.task, header.placement, installed_version)


def worst_case_hooks(
    data: bytes,
) -> tuple[Callable[[Any, bytes], int], Callable[[Any, bytes], tuple[int, list[int]]]]:
    """Hooks that accept anything and echo the expected output of the *valid* package."""
    expected = list(pkg.parse(data).header.selftest.expected)
    return (lambda _h, _m: ACCEPT), (lambda _h, _m: (ACCEPT, expected))


def byte_flips(data: bytes, mask: int = 0xFF) -> Iterator[tuple[int, bytes]]:
    for offset in range(len(data)):
        flipped = bytearray(data)
        flipped[offset] ^= mask
        yield offset, bytes(flipped)


def truncations(data: bytes) -> Iterator[tuple[int, bytes]]:
    for length in range(len(data)):
        yield length, data[:length]


def _resign(raw: bytearray, key: SigningKey) -> bytes:
    signed_size = int.from_bytes(raw[28:32], "little")
    raw[signed_size:] = key.sign(bytes(raw[:signed_size]))
    return bytes(raw)


def semantic_attacks(valid: bytes, key: SigningKey, other: SigningKey) -> list[Attack]:
    """One case per status after step 1, each otherwise valid and properly signed."""
    header = pkg.parse(valid).header
    expect = expectation_for(valid, installed_version=header.model_version - 1)
    other_task = (header.task + 1) % 3
    other_place = (header.placement + 1) % 5
    attacks = [
        Attack("valid", valid, expect, Status.OK),
        Attack(
            "older version",
            valid,
            dataclasses.replace(expect, installed_version=header.model_version + 1),
            Status.PKG_ROLLBACK,
        ),
        Attack(
            "same version",
            valid,
            dataclasses.replace(expect, installed_version=header.model_version),
            Status.PKG_ROLLBACK,
        ),
        Attack("wrong task", valid, dataclasses.replace(expect, task=other_task), Status.PKG_TASK),
        Attack(
            "wrong placement",
            valid,
            dataclasses.replace(expect, placement=other_place),
            Status.PKG_PLACEMENT,
        ),
        Attack("signed by another key", pkg.sign(valid, other), expect, Status.PKG_KEY),
        Attack("bad magic", b"XSPK" + valid[4:], expect, Status.PKG_FORMAT),
        Attack("format version 2", valid[:4] + b"\x02" + valid[5:], expect, Status.PKG_FORMAT),
        Attack("one byte appended", valid + b"\x00", expect, Status.PKG_BOUNDS),
    ]
    forged = bytearray(pkg.sign(valid, other))
    forged[64:72] = key.public.key_id  # names the trusted key, signed by another
    attacks.append(Attack("forged key id", _resign(forged, other), expect, Status.PKG_SIGNATURE))
    swapped = bytearray(valid)
    swapped[pkg.HEADER_SIZE] ^= 0x01  # model changed, header hash not, re-signed
    attacks.append(Attack("model swapped", _resign(swapped, key), expect, Status.PKG_HASH))
    classes = bytearray(valid)
    classes[96] = 200  # output 0 -> code 200: no such activity class
    attacks.append(Attack("unknown class code", _resign(classes, key), expect, Status.PKG_CLASSES))
    duplicate = bytearray(valid)
    duplicate[97] = duplicate[96]
    attacks.append(Attack("duplicate class", _resign(duplicate, key), expect, Status.PKG_CLASSES))
    accept, echo = worst_case_hooks(valid)
    expected = list(header.selftest.expected)
    attacks.append(
        Attack(
            "interpreter rejects the model",
            valid,
            expect,
            Status.PKG_MODEL,
            validate_model=lambda _h, _m: int(Status.ARG),
            run_self_test=echo,
        )
    )
    for i in range(len(expected)):
        wrong = list(expected)
        wrong[i] = wrong[i] + 1 if wrong[i] < 127 else wrong[i] - 1

        def differing(_h: Any, _m: bytes, out: list[int] = wrong) -> tuple[int, list[int]]:
            return ACCEPT, out

        attacks.append(
            Attack(
                f"self-test output {i} differs",
                valid,
                expect,
                Status.PKG_SELFTEST,
                validate_model=accept,
                run_self_test=differing,
            )
        )
    attacks.append(
        Attack(
            "self-test run fails",
            valid,
            expect,
            Status.PKG_SELFTEST,
            validate_model=accept,
            run_self_test=lambda _h, _m: (int(Status.ARG), expected),
        )
    )
    return attacks


@dataclasses.dataclass
class MaliciousResult:
    total: int = 0
    rejected: int = 0
    by_status: Counter[str] = dataclasses.field(default_factory=Counter)
    accepted: list[str] = dataclasses.field(default_factory=list)
    wrong_status: list[str] = dataclasses.field(default_factory=list)


def run_malicious(
    fw: FirmwarePackages,
    valid: bytes,
    key: SigningKey,
    other: SigningKey,
    flip_masks: tuple[int, ...] = (0xFF,),
    progress: Callable[[Iterator[Any]], Iterator[Any]] | None = None,
) -> MaliciousResult:
    """Every byte flipped (per mask), every truncation, and every semantic attack, through
    ``ws_pkg_verify`` with the worst-case hooks unless an attack brings its own."""
    result = MaliciousResult()
    expect = expectation_for(valid, installed_version=pkg.parse(valid).header.model_version - 1)
    accept, echo = worst_case_hooks(valid)

    def run(data: bytes, exp: pkg.Expectation, v: Any, s: Any) -> Status:
        return fw.verify(data, key.public.raw, exp.task, exp.placement, exp.installed_version, v, s)

    def cases() -> Iterator[tuple[str, bytes]]:
        for mask in flip_masks:
            for offset, data in byte_flips(valid, mask):
                yield f"byte {offset} ^ 0x{mask:02x}", data
        for length, data in truncations(valid):
            yield f"truncated to {length}", data

    stream = cases()
    for name, data in progress(stream) if progress else stream:
        status = run(data, expect, accept, echo)
        result.total += 1
        result.by_status[status.name] += 1
        if status == Status.OK:
            result.accepted.append(name)
        else:
            result.rejected += 1
    for attack in semantic_attacks(valid, key, other):
        status = run(
            attack.data,
            attack.expect,
            attack.validate_model or accept,
            attack.run_self_test or echo,
        )
        if status != attack.status:
            result.wrong_status.append(f"{attack.name}: {status.name}, want {attack.status.name}")
        if attack.status == Status.OK:
            continue  # the control case, not an attack
        result.total += 1
        result.by_status[status.name] += 1
        if status == Status.OK:
            result.accepted.append(attack.name)
        else:
            result.rejected += 1
    return result


def run_malicious_on_interpreter(
    fw: FirmwarePackages,
    valid: bytes,
    key: SigningKey,
    progress: Callable[[Iterator[Any]], Iterator[Any]] | None = None,
) -> MaliciousResult:
    """Every byte flipped (XOR 0xFF) and every truncation of a real-model package, through
    all seven device steps on the C interpreter (ws_pkg_verify_nn)."""

    package = pkg.parse(valid)
    arena = NNModel(package.model).arena_bytes
    expect = expectation_for(valid, installed_version=package.header.model_version - 1)
    result = MaliciousResult()

    def cases() -> Iterator[tuple[str, bytes]]:
        for offset, data in byte_flips(valid):
            yield f"byte {offset} ^ 0xff", data
        for length, data in truncations(valid):
            yield f"truncated to {length}", data

    stream = cases()
    for name, data in progress(stream) if progress else stream:
        status, _ = fw.verify_on_interpreter(
            data, key.public.raw, expect.task, expect.placement, expect.installed_version, arena
        )
        result.total += 1
        result.by_status[status.name] += 1
        if status == Status.OK:
            result.accepted.append(name)
        else:
            result.rejected += 1
    return result


# the statuses of steps 1-3: a package failing one is malformed, untrusted or tampered
UNTRUSTED = frozenset(
    {Status.PKG_FORMAT, Status.PKG_BOUNDS, Status.PKG_HASH, Status.PKG_KEY, Status.PKG_SIGNATURE}
)


def registry_attacks(
    valid: bytes, key: SigningKey, other: SigningKey, flip_masks: tuple[int, ...] = (0xFF,)
) -> Iterator[tuple[str, bytes]]:
    """Untrusted or tampered versions of ``valid`` (signed by ``key``, the trusted one):
    every byte flipped (per mask), every truncation, every semantic attack that fails
    steps 1-3 (another key, a forged key id, a swapped model, ...), and the same package
    under a newer version signed by ``other``, claiming the DEV flag, or not signed again."""
    for mask in flip_masks:
        for offset, data in byte_flips(valid, mask):
            yield f"byte {offset} ^ 0x{mask:02x}", data
    for length, data in truncations(valid):
        yield f"truncated to {length}", data
    for attack in semantic_attacks(valid, key, other):
        if attack.status in UNTRUSTED:
            yield attack.name, attack.data
    newer = bytearray(valid)
    version = pkg.parse(valid).header.model_version + 1
    newer[8:10] = version.to_bytes(2, "little")
    yield "newer version, not signed again", bytes(newer)
    yield "newer version signed by another key", pkg.sign(bytes(newer), other)
    dev_claim = bytearray(pkg.sign(bytes(newer), other))
    dev_claim[7] = pkg.FLAG_DEV_KEY
    yield "another key claiming the DEV flag", _resign(dev_claim, other)


def registry_accepts(registry: Registry, data: bytes) -> bool:
    """Whether ``registry`` registered ``data`` (a refusal is any registry or package
    error; anything else is raised)."""
    try:
        registry.add(data)
    except (RegistryError, PackageError):
        return False
    return True


def run_registry(
    registry: Registry,
    valid: bytes,
    key: SigningKey,
    other: SigningKey,
    flip_masks: tuple[int, ...] = (0xFF,),
    progress: Callable[[Iterator[Any]], Iterator[Any]] | None = None,
) -> MaliciousResult:
    """:func:`registry_attacks` through ``registry.add``; ``accepted`` names what was
    registered (must be nothing), ``by_status`` counts the refusals by kind."""
    result = MaliciousResult()
    stream = registry_attacks(valid, key, other, flip_masks)
    for name, data in progress(stream) if progress else stream:
        result.total += 1
        try:
            registry.add(data)
        except (UntrustedPackage, PackageError) as exc:
            result.rejected += 1
            result.by_status[exc.status.name] += 1
        except RegistryError as exc:
            result.rejected += 1
            result.by_status[type(exc).__name__] += 1
        else:
            result.accepted.append(name)
    return result
