"""Model packages: the host's build/sign/parse/verify (wearsense.updates.package) and the
firmware's ws_pkg_verify (through wearsense.firmware.package) must accept a valid package,
reject every flipped byte and every truncation, give each unacceptable package its own
status, and agree with each other. The model bytes are a synthetic blob: the package
format never interprets them (docs/model-package.md)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from wearsense.firmware.package import FirmwarePackages
from wearsense.protocol.errors import Status
from wearsense.testing import adversarial as adv
from wearsense.updates import package as pkg
from wearsense.updates.errors import KeyFileError, PackageError
from wearsense.updates.keys import (
    DEV_PUBLIC_KEY_PATH,
    ENV_SIGNING_KEY,
    SigningKey,
    dev_signing_key,
    generate_key,
    load_public_key,
    load_signing_key,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dev_key() -> SigningKey:
    return dev_signing_key()


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))), "test-other")


@pytest.fixture(scope="module")
def firmware() -> FirmwarePackages:
    return FirmwarePackages()


@pytest.fixture(scope="module")
def valid(dev_key: SigningKey) -> bytes:
    return adv.sample_package(dev_key, model_size=203)


def host_status(data: bytes, key: SigningKey, expect: pkg.Expectation) -> Status:
    try:
        pkg.verify(data, key.public, expect)
    except PackageError as exc:
        return exc.status
    return Status.OK


def test_layout_is_aligned_and_signed_by_the_dev_key(valid: bytes, dev_key: SigningKey) -> None:
    package = pkg.verify(valid, dev_key.public)
    header = package.header
    assert header.selftest_offset % pkg.ALIGN == 0 and pkg.HEADER_SIZE % pkg.ALIGN == 0
    assert len(valid) == header.selftest_offset + pkg.SELFTEST_SIZE + pkg.SIGNATURE_SIZE
    assert header.dev_key and header.key_id == dev_key.public.key_id
    model_end = pkg.HEADER_SIZE + header.model_size
    assert model_end % pkg.ALIGN != 0  # the fixture exercises the padding
    assert valid[model_end : header.selftest_offset] == bytes(header.selftest_offset - model_end)


def test_dev_flag_only_with_the_dev_key(valid: bytes, other_key: SigningKey) -> None:
    resigned = pkg.sign(valid, other_key)
    assert not pkg.parse(resigned).header.dev_key
    assert pkg.verify(resigned, other_key.public).header.key_id == other_key.public.key_id


def test_firmware_trusts_the_committed_dev_key(firmware: FirmwarePackages) -> None:
    assert firmware.trusted_key() == load_public_key(DEV_PUBLIC_KEY_PATH).raw
    assert firmware.trusted_key_is_dev()


def test_valid_package_passes_all_seven_steps_in_order(
    valid: bytes, dev_key: SigningKey, firmware: FirmwarePackages
) -> None:
    calls: list[str] = []
    header = pkg.parse(valid).header

    def validate(h: Any, model: bytes) -> int:
        calls.append("validate")
        assert model == valid[pkg.HEADER_SIZE : pkg.HEADER_SIZE + header.model_size]
        assert h.selftest_seed == header.selftest.seed and h.output_count == 8
        return 0

    def self_test(h: Any, model: bytes) -> tuple[int, list[int]]:
        calls.append("self_test")
        return 0, list(header.selftest.expected)

    expect = adv.expectation_for(valid, installed_version=4)
    status = firmware.verify(
        valid, dev_key.public.raw, expect.task, expect.placement, 4, validate, self_test
    )
    assert status == Status.OK
    assert calls == ["validate", "self_test"]


def test_hooks_never_see_a_package_that_failed_an_earlier_step(
    valid: bytes, dev_key: SigningKey, firmware: FirmwarePackages
) -> None:
    def forbidden(*_: Any) -> Any:
        raise AssertionError("hook called for a rejected package")

    expect = adv.expectation_for(valid)
    for data, installed in ((valid, 5), (valid[:-1], 0), (pkg.sign(valid, dev_key)[:100], 0)):
        status = firmware.verify(
            data,
            dev_key.public.raw,
            expect.task,
            expect.placement,
            installed,
            forbidden,
            forbidden,
        )
        assert status != Status.OK


def test_every_semantic_attack_gets_its_own_status(
    valid: bytes, dev_key: SigningKey, other_key: SigningKey, firmware: FirmwarePackages
) -> None:
    attacks = adv.semantic_attacks(valid, dev_key, other_key)
    accept, echo = adv.worst_case_hooks(valid)
    seen = set()
    for attack in attacks:
        e = attack.expect
        status = firmware.verify(
            attack.data,
            dev_key.public.raw,
            e.task,
            e.placement,
            e.installed_version,
            attack.validate_model or accept,
            attack.run_self_test or echo,
        )
        assert status == attack.status, attack.name
        seen.add(status)
        if attack.validate_model is None and attack.run_self_test is None:
            # The host verifier (steps 1-5) names the same failure.
            assert host_status(attack.data, dev_key, e) == attack.status, attack.name
    assert {s for s in Status if 0x20 <= s <= 0x2A} <= seen


def test_every_byte_flip_and_truncation_is_rejected(
    valid: bytes, dev_key: SigningKey, other_key: SigningKey, firmware: FirmwarePackages
) -> None:
    result = adv.run_malicious(firmware, valid, dev_key, other_key, flip_masks=(0xFF, 0x01))
    semantic = len(adv.semantic_attacks(valid, dev_key, other_key)) - 1  # less the control
    assert result.accepted == [] and result.wrong_status == []
    assert result.total == result.rejected == 3 * len(valid) + semantic
    # Every step of the header-first order shows up for some flipped byte.
    for name in ("PKG_BOUNDS", "PKG_HASH", "PKG_SIGNATURE", "PKG_FORMAT", "PKG_KEY"):
        assert result.by_status[name] > 0, name


def test_host_and_firmware_agree_on_flips_and_truncations(
    valid: bytes, dev_key: SigningKey, firmware: FirmwarePackages
) -> None:
    expect = adv.expectation_for(valid)
    variants = [d for _, d in adv.byte_flips(valid)] + [d for _, d in adv.truncations(valid)]
    for data in variants:
        fw = firmware.check(data, dev_key.public.raw, expect.task, expect.placement, 0)
        assert fw == host_status(data, dev_key, expect) != Status.OK


def test_truncation_is_a_bounds_error(valid: bytes, firmware: FirmwarePackages) -> None:
    for length, data in adv.truncations(valid):
        assert firmware.parse_header(data) == Status.PKG_BOUNDS, length
    assert firmware.parse_header(valid) == Status.OK


def test_selftest_input_is_the_same_in_c_and_python(firmware: FirmwarePackages) -> None:
    for seed in (1, 2, 0x5EED, 0xFFFFFFFF):
        for count in (0, 1, 7, 1000):
            assert firmware.selftest_input(seed, count) == pkg.selftest_input(seed, count)
    # xorshift32 from seed 1: states 0x42021, 0x4080601, 0x9dcca8c5, ... (top bytes)
    assert pkg.selftest_input(1, 3) == bytes([0x00, 0x04, 0x9D])


def test_build_refuses_what_the_device_would_refuse(valid: bytes) -> None:
    args: dict[str, Any] = dict(
        task=pkg.Task.FALL,
        placement=pkg.Placement.WAIST,
        model_version=1,
        input_spec=pkg.InputSpec(50, 100, 3, 0.01, 0),
        output_spec=pkg.OutputSpec((0, 1), 1 / 256, -128),
        selftest=pkg.SelfTest(9, (1, 2)),
    )
    pkg.build(b"m", **args)
    bad: list[tuple[dict[str, Any], Status]] = [
        ({"output_spec": pkg.OutputSpec((0, 2), 1 / 256, 0)}, Status.PKG_CLASSES),
        ({"output_spec": pkg.OutputSpec((1, 1), 1 / 256, 0)}, Status.PKG_CLASSES),
        ({"selftest": pkg.SelfTest(9, (1,))}, Status.PKG_BOUNDS),
        ({"selftest": pkg.SelfTest(0, (1, 2))}, Status.PKG_BOUNDS),
        ({"model_version": 0}, Status.PKG_BOUNDS),
        ({"input_spec": pkg.InputSpec(50, 100, 3, -1.0, 0)}, Status.PKG_BOUNDS),
    ]
    for change, status in bad:
        with pytest.raises(PackageError) as err:
            pkg.build(b"m", **{**args, **change})
        assert err.value.status == status
    with pytest.raises(PackageError) as err:
        pkg.build(b"m" * pkg.MAX_SIZE, **args)
    assert err.value.status == Status.PKG_BOUNDS


def test_keys_generate_load_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "prod.ed25519.pem"
    key = generate_key(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert not key.is_dev
    with pytest.raises(KeyFileError):
        generate_key(path)
    monkeypatch.delenv(ENV_SIGNING_KEY, raising=False)
    with pytest.raises(KeyFileError, match="no signing key"):
        load_signing_key()
    monkeypatch.setenv(ENV_SIGNING_KEY, str(path))
    assert load_signing_key().public == key.public
    (tmp_path / "junk.pem").write_text("not a key")
    with pytest.raises(KeyFileError, match="junk.pem"):
        load_signing_key(tmp_path / "junk.pem")


@pytest.mark.sanitized
def test_malicious_packages_under_sanitizers(asan_core: Any) -> None:
    key = dev_signing_key()
    other = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))), "test-other")
    valid = adv.sample_package(key, model_size=77)
    result = adv.run_malicious(FirmwarePackages(asan_core), valid, key, other)
    semantic = len(adv.semantic_attacks(valid, key, other)) - 1
    assert result.accepted == [] and result.wrong_status == []
    assert result.total == result.rejected == 2 * len(valid) + semantic
