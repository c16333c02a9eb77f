"""The firmware's SHA-256, SHA-512 and Ed25519 (firmware/src/crypto) against the NIST
examples, the RFC 8032 section 7.1 vectors (tests/vectors/*.json), hashlib and the
``cryptography`` package. Tests marked ``sanitized`` run the same C through ASan/UBSan;
``make bench`` runs the large cross-check (benchmarks/bench_updates.py)."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest

from wearsense.firmware.crypto import FirmwareCrypto
from wearsense.protocol.errors import Status
from wearsense.testing import ed25519_crosscheck as xc

VECTORS = Path(__file__).resolve().parent / "vectors"
SHA2 = json.loads((VECTORS / "sha2.json").read_text())["vectors"]
ED25519 = json.loads((VECTORS / "ed25519.json").read_text())["ed25519"]


@pytest.fixture(scope="module")
def plain() -> FirmwareCrypto:
    return FirmwareCrypto()


@pytest.fixture(scope="module")
def sanitized(asan_core: Any) -> FirmwareCrypto:
    return FirmwareCrypto(asan_core)


def _message(row: dict[str, Any]) -> bytes:
    return (row["message_ascii"] * row["repeat"]).encode()


@pytest.mark.parametrize("row", SHA2, ids=lambda r: f"{r['algorithm']}-{len(_message(r))}")
def test_nist_sha2_examples(plain: FirmwareCrypto, row: dict[str, Any]) -> None:
    digest = getattr(plain, row["algorithm"])(_message(row))
    assert digest.hex() == row["digest"]


def test_sha2_every_padding_boundary_matches_hashlib(plain: FirmwareCrypto) -> None:
    rng = random.Random(1)
    for length in range(0, 300):
        data = rng.randbytes(length)
        assert plain.sha256(data) == hashlib.sha256(data).digest(), length
        assert plain.sha512(data) == hashlib.sha512(data).digest(), length


def test_sha2_streaming_equals_one_shot(plain: FirmwareCrypto) -> None:
    rng = random.Random(2)
    for _ in range(50):
        data = rng.randbytes(rng.randrange(0, 1000))
        cuts = sorted(rng.randrange(0, len(data) + 1) for _ in range(rng.randrange(0, 6)))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        assert plain.sha256_chunks(chunks) == hashlib.sha256(data).digest()
        assert plain.sha512_chunks(chunks) == hashlib.sha512(data).digest()


@pytest.mark.parametrize("vector", ED25519, ids=lambda v: v["name"])
def test_rfc8032_vectors_verify_and_any_bit_flip_fails(
    plain: FirmwareCrypto, vector: dict[str, str]
) -> None:
    sig = bytes.fromhex(vector["signature"])
    msg = bytes.fromhex(vector["message"])
    key = bytes.fromhex(vector["public_key"])
    assert plain.ed25519_status(sig, msg, key) == Status.OK
    rng = random.Random(vector["name"])
    for _ in range(8):
        bit = rng.randrange(512)
        bad = bytearray(sig)
        bad[bit // 8] ^= 1 << (bit % 8)
        assert plain.ed25519_status(bytes(bad), msg, key) == Status.PKG_SIGNATURE
        bit = rng.randrange(256)
        bad_key = bytearray(key)
        bad_key[bit // 8] ^= 1 << (bit % 8)
        assert plain.ed25519_status(sig, msg, bytes(bad_key)) == Status.PKG_SIGNATURE
    assert plain.ed25519_status(sig, msg + b"\x00", key) == Status.PKG_SIGNATURE


def test_noncanonical_s_is_rejected_although_the_equation_holds(plain: FirmwareCrypto) -> None:
    """S + L satisfies [S]B = R + [k]A exactly like S; only the S < L check rejects it."""
    vector = ED25519[0]
    sig = bytes.fromhex(vector["signature"])
    key = bytes.fromhex(vector["public_key"])
    s = int.from_bytes(sig[32:], "little")
    assert s + xc.L < 2**256
    high = sig[:32] + (s + xc.L).to_bytes(32, "little")
    assert plain.ed25519_status(high, b"", key) == Status.PKG_SIGNATURE
    assert not xc.reference_verify(high, b"", key)


def test_small_order_keys_are_rejected_even_when_openssl_accepts(plain: FirmwareCrypto) -> None:
    rng = random.Random(3)
    encodings = xc.small_order_encodings()
    assert len(encodings) == 13  # 8 canonical, 3 with y >= p, 2 "negative zero"
    reference_accepted = 0
    for key in encodings:
        for _ in range(6):
            msg = rng.randbytes(20)
            forged = xc.forge_for_small_order_key(key, msg)
            if forged is None:
                continue
            reference_accepted += xc.reference_verify(forged, msg, key)
            assert plain.ed25519_status(forged, msg, key) == Status.PKG_SIGNATURE
    # The forgeries are real: the cofactorless equation holds and OpenSSL accepts them.
    assert reference_accepted > 0


def test_identity_r_follows_the_encoding_rules(plain: FirmwareCrypto) -> None:
    rng = random.Random(4)
    canonical = [xc.make_case("small_order_r", rng) for _ in range(10)]
    for case in canonical:
        ours = plain.ed25519_verify(case.signature, case.message, case.public_key)
        # r = 0 is a valid (degenerate) signature in its canonical encoding only.
        assert ours == (case.signature[:32] == xc.encode(xc.IDENTITY))
        assert ours == xc.reference_verify(case.signature, case.message, case.public_key)


def test_null_message_with_length_is_an_argument_error(plain: FirmwareCrypto) -> None:
    vector = ED25519[0]
    status = plain.lib.ws_ed25519_verify(
        bytes.fromhex(vector["signature"]), plain.ffi.NULL, 5, bytes.fromhex(vector["public_key"])
    )
    assert status == Status.ARG


def test_crosscheck_plain_build(plain: FirmwareCrypto) -> None:
    result = xc.crosscheck(plain.ed25519_verify, count=700, seed=11)
    assert result.failures == 0, result.failed_cases
    assert set(result.by_kind) == set(xc.KINDS)
    assert result.accepted_by_kind["valid"] == result.by_kind["valid"]
    assert result.accepted_by_kind["small_order_key"] == 0


@pytest.mark.sanitized
def test_vectors_under_sanitizers(sanitized: FirmwareCrypto) -> None:
    for row in SHA2:
        if row["repeat"] == 1:
            assert getattr(sanitized, row["algorithm"])(_message(row)).hex() == row["digest"]
    for vector in ED25519:
        sig, msg, key = (bytes.fromhex(vector[k]) for k in ("signature", "message", "public_key"))
        assert sanitized.ed25519_verify(sig, msg, key)
        assert not sanitized.ed25519_verify(sig, msg[:-1] if msg else b"x", key)


@pytest.mark.sanitized
def test_crosscheck_under_sanitizers(sanitized: FirmwareCrypto) -> None:
    result = xc.crosscheck(sanitized.ed25519_verify, count=280, seed=12)
    assert result.failures == 0, result.failed_cases
    assert result.total == 280
