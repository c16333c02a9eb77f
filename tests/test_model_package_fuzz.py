"""Property-based tests of the package format: any package built from valid parameters
round-trips and verifies on both sides; any random edit of a signed package is rejected,
with the same status from the host (wearsense.updates.package) and the firmware
(ws_pkg_check), and the host never raises anything but PackageError. The sanitized variant
runs the C side through ASan/UBSan."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wearsense.firmware.package import FirmwarePackages
from wearsense.protocol.errors import Status
from wearsense.testing import adversarial as adv
from wearsense.updates import package as pkg
from wearsense.updates.errors import PackageError
from wearsense.updates.keys import dev_signing_key

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEY = dev_signing_key()
VALID = adv.sample_package(KEY, model_size=61, seed=3)
EXPECT = adv.expectation_for(VALID)


@st.composite
def package_parameters(draw: Any) -> dict[str, Any]:
    task = draw(st.sampled_from(list(pkg.Task)))
    codes = [int(c) for c in pkg.CLASS_ENUMS[task]]
    classes = draw(st.lists(st.sampled_from(codes), min_size=1, max_size=len(codes), unique=True))
    return {
        "model": draw(st.binary(min_size=1, max_size=300)),
        "task": task,
        "placement": draw(st.sampled_from(list(pkg.Placement))),
        "model_version": draw(st.integers(1, 0xFFFF)),
        "input_spec": pkg.InputSpec(
            draw(st.integers(1, pkg.MAX_SAMPLE_RATE_HZ)),
            draw(st.integers(1, 0xFFFF)),
            draw(st.integers(1, pkg.MAX_CHANNELS)),
            draw(st.sampled_from([0.5, 0.0625, 1 / 256, 2.0**-15, 17.0])),  # exact in f32
            draw(st.integers(-128, 127)),
        ),
        "output_spec": pkg.OutputSpec(
            tuple(classes), draw(st.sampled_from([1 / 256, 0.125])), draw(st.integers(-128, 127))
        ),
        "selftest": pkg.SelfTest(
            draw(st.integers(1, 0xFFFFFFFF)),
            tuple(draw(st.lists(st.integers(-128, 127), min_size=len(classes),
                                max_size=len(classes)))),
        ),
    }  # fmt: skip


edits = st.lists(
    st.tuples(st.integers(0, len(VALID) - 1), st.integers(1, 255)),
    min_size=1,
    max_size=4,
    unique_by=lambda edit: edit[0],
)


def host_status(data: bytes, expect: pkg.Expectation) -> Status:
    try:
        pkg.verify(data, KEY.public, expect)
    except PackageError as exc:
        return exc.status
    return Status.OK


def mutate(changes: list[tuple[int, int]], cut: int | None) -> bytes:
    raw = bytearray(VALID)
    for offset, xor in changes:
        raw[offset] ^= xor
    return bytes(raw[:cut]) if cut is not None else bytes(raw)


@SETTINGS
@given(package_parameters())
def test_valid_parameters_round_trip_and_verify(params: dict[str, Any]) -> None:
    model = params.pop("model")
    data = pkg.sign(pkg.build(model, **params), KEY)
    package = pkg.parse(data)
    header = package.header
    assert package.model == model
    assert header.input == params["input_spec"] and header.output == params["output_spec"]
    assert header.selftest == params["selftest"] and header.dev_key
    expect = pkg.Expectation(params["task"], params["placement"], params["model_version"] - 1)
    assert host_status(data, expect) == Status.OK
    fw = FirmwarePackages()
    assert fw.check(data, KEY.public.raw, expect.task, expect.placement, 0) == Status.OK


@SETTINGS
@given(edits, st.one_of(st.none(), st.integers(0, len(VALID) - 1)))
def test_random_edits_are_rejected_alike(changes: list[tuple[int, int]], cut: int | None) -> None:
    data = mutate(changes, cut)
    fw = FirmwarePackages().check(data, KEY.public.raw, EXPECT.task, EXPECT.placement, 0)
    assert fw == host_status(data, EXPECT)
    assert fw != Status.OK


@SETTINGS
@given(st.binary(max_size=400))
def test_random_bytes_are_rejected_alike(data: bytes) -> None:
    fw = FirmwarePackages().check(data, KEY.public.raw, 0, 0, 0)
    assert fw == host_status(data, pkg.Expectation(0, 0, 0)) != Status.OK


@pytest.mark.sanitized
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits, st.one_of(st.none(), st.integers(0, len(VALID) - 1)))
def test_random_edits_under_sanitizers(
    asan_core: Any, changes: list[tuple[int, int]], cut: int | None
) -> None:
    data = mutate(changes, cut)
    fw = FirmwarePackages(asan_core).check(data, KEY.public.raw, EXPECT.task, EXPECT.placement, 0)
    assert fw == host_status(data, EXPECT) != Status.OK
