"""Package verification with the real int8 interpreter (ws_pkg_verify_nn, steps 6 and 7
on firmware/src/nn): a package built from a real .tflite passes all seven steps; a model
the interpreter refuses, a header that misdescribes the model, an arena too small and a
wrong expected output each fail in the right step; and the CLI end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wearsense.cli import main as cli_main
from wearsense.firmware.nn import NNModel
from wearsense.firmware.package import FirmwarePackages
from wearsense.protocol.errors import Status
from wearsense.testing import adversarial as adv
from wearsense.updates import package as pkg
from wearsense.updates.errors import PackageError
from wearsense.updates.keys import dev_signing_key

KEY = dev_signing_key()
NN_FORMAT, NN_SHAPE, NN_QUANT, NN_ARENA = 0x40, 0x48, 0x49, 0x4D


MODEL = adv.example_tflite()
ARGS: dict[str, Any] = dict(
    task=pkg.Task.ACTIVITY,
    placement=pkg.Placement.WAIST,
    model_version=2,
    sample_rate_hz=50,
    class_codes=tuple(range(8)),
    selftest_seed=0xC0FFEE,
)


@pytest.fixture(scope="module")
def valid() -> bytes:
    return pkg.sign(pkg.build_from_tflite(MODEL, **ARGS), KEY)


def on_device(data: bytes, module: Any = None, **kw: Any) -> tuple[Status, int]:
    return FirmwarePackages(module).verify_on_interpreter(
        data, KEY.public.raw, int(pkg.Task.ACTIVITY), int(pkg.Placement.WAIST), 1, **kw
    )


def resigned_with(valid: bytes, **changes: Any) -> bytes:
    """The valid package rebuilt with explicit (possibly wrong) specification fields."""
    header = pkg.parse(valid).header
    model = changes.pop("model", MODEL)
    fields: dict[str, Any] = dict(
        task=header.task,
        placement=header.placement,
        model_version=header.model_version,
        input_spec=header.input,
        output_spec=header.output,
        selftest=header.selftest,
    )
    fields.update(changes)
    return pkg.sign(pkg.build(model, **fields), KEY)


def test_spec_and_selftest_come_from_the_interpreter(valid: bytes) -> None:
    header = pkg.parse(valid).header
    assert (header.input.window_samples, header.input.channels) == (32, 3)
    nn = NNModel(MODEL)
    assert header.input.scale == nn.inputs[0].scale
    assert header.output.zero_point == nn.outputs[0].zero_point
    x = np.frombuffer(pkg.selftest_input(header.selftest.seed, 96), np.int8).reshape(1, 1, 32, 3)
    assert header.selftest.expected == tuple(int(v) for v in nn.run(x)[0].ravel())
    assert len(set(header.selftest.expected)) > 1  # not a saturated, uninformative output


def test_valid_package_passes_all_seven_steps_on_the_interpreter(valid: bytes) -> None:
    assert on_device(valid) == (Status.OK, 0)
    assert len(pkg.parse(valid).header.selftest.expected) == 8


def test_model_the_interpreter_refuses(valid: bytes) -> None:
    blob = bytes(np.random.default_rng(1).integers(0, 256, size=len(MODEL), dtype=np.uint8))
    data = resigned_with(valid, model=blob)
    assert on_device(data) == (Status.PKG_MODEL, NN_FORMAT)


def test_header_that_misdescribes_the_model(valid: bytes) -> None:
    header = pkg.parse(valid).header
    wrong_scale = pkg.InputSpec(50, 32, 3, header.input.scale * 2, header.input.zero_point)
    assert on_device(resigned_with(valid, input_spec=wrong_scale)) == (Status.PKG_MODEL, NN_QUANT)
    wrong_window = pkg.InputSpec(50, 33, 3, header.input.scale, header.input.zero_point)
    assert on_device(resigned_with(valid, input_spec=wrong_window)) == (
        Status.PKG_MODEL,
        NN_SHAPE,
    )
    seven = pkg.OutputSpec(tuple(range(7)), header.output.scale, header.output.zero_point)
    fewer = resigned_with(valid, output_spec=seven,
                          selftest=pkg.SelfTest(1, header.selftest.expected[:7]))  # fmt: skip
    assert on_device(fewer) == (Status.PKG_MODEL, NN_SHAPE)


def test_arena_too_small(valid: bytes) -> None:
    need = NNModel(MODEL).arena_bytes
    assert on_device(valid, arena_bytes=need)[0] == Status.OK
    assert on_device(valid, arena_bytes=need - 1) == (Status.PKG_MODEL, NN_ARENA)


def test_every_wrong_expected_output_fails_the_self_test(valid: bytes) -> None:
    header = pkg.parse(valid).header
    for i in range(len(header.selftest.expected)):
        wrong = list(header.selftest.expected)
        wrong[i] = wrong[i] + 1 if wrong[i] < 127 else wrong[i] - 1
        data = resigned_with(valid, selftest=pkg.SelfTest(header.selftest.seed, tuple(wrong)))
        assert on_device(data) == (Status.PKG_SELFTEST, 0), i
    other_seed = resigned_with(valid, selftest=pkg.SelfTest(header.selftest.seed + 1,
                                                            header.selftest.expected))  # fmt: skip
    assert on_device(other_seed)[0] == Status.PKG_SELFTEST


def test_flipped_bytes_never_reach_the_interpreter(valid: bytes) -> None:
    for offset, data in adv.byte_flips(valid):
        status, nn_status = on_device(data, arena_bytes=NNModel(MODEL).arena_bytes)
        assert status not in (Status.OK, Status.PKG_MODEL, Status.PKG_SELFTEST), offset
        assert nn_status == 0


def test_every_flip_and_truncation_rejected_on_the_interpreter() -> None:
    data = adv.example_package(KEY)
    result = adv.run_malicious_on_interpreter(FirmwarePackages(), data, KEY)
    assert result.accepted == []
    assert result.total == result.rejected == 2 * len(data)


def test_build_refuses_a_model_with_the_wrong_number_of_classes() -> None:
    with pytest.raises(PackageError) as err:
        pkg.build_from_tflite(MODEL, **{**ARGS, "class_codes": (0, 1, 2)})
    assert err.value.status == Status.PKG_CLASSES
    with pytest.raises(PackageError) as err:
        pkg.build_from_tflite(b"not a model at all", **ARGS)
    assert err.value.status == Status.PKG_MODEL


def test_cli_build_sign_verify_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "m.tflite"
    model.write_bytes(MODEL)
    out = tmp_path / "a.wspkg"
    build = ["package", "build", str(model), "-o", str(out), "--task", "activity",
             "--placement", "waist", "--version", "3", "--sample-rate", "50",
             "--classes", "walk,run,cycle,upstairs,downstairs,sit,stand,lie"]  # fmt: skip
    assert cli_main(build) == 0
    assert cli_main(["package", "sign", str(out), "--dev-key"]) == 0
    verify = ["package", "verify", str(out), "--task", "activity", "--placement", "waist"]
    assert cli_main([*verify, "--installed-version", "2"]) == 0
    assert "steps 1-7" in capsys.readouterr().out
    assert cli_main([*verify, "--installed-version", "3"]) == 1
    assert "PKG_ROLLBACK" in capsys.readouterr().out
    assert cli_main(["package", "info", str(out)]) == 0
    assert "DEVELOPMENT" in capsys.readouterr().out
    bad_classes = [*build[:-1], "walk,run,cycle,upstairs,downstairs,sit,stand,af"]
    assert cli_main(bad_classes) == 1
    assert "'af'" in capsys.readouterr().err


@pytest.mark.sanitized
def test_interpreter_steps_under_sanitizers(asan_core: Any, valid: bytes) -> None:
    assert on_device(valid, asan_core) == (Status.OK, 0)
    header = pkg.parse(valid).header
    wrong = (header.selftest.expected[0] ^ 1, *header.selftest.expected[1:])
    data = resigned_with(valid, selftest=pkg.SelfTest(header.selftest.seed, wrong))
    assert on_device(data, asan_core) == (Status.PKG_SELFTEST, 0)
    assert on_device(valid[:-1], asan_core) == (Status.PKG_BOUNDS, 0)
