"""Cross-checks the firmware's Ed25519 verifier against the ``cryptography`` package
(OpenSSL) on random and adversarial inputs. The tests run a bounded number of cases through
the sanitizer build; ``make bench`` (benchmarks/bench_updates.py) runs at least 10 000.

Each case is a (signature, message, public key) triple of one kind:

``valid``            a real signature of a random message under a random key;
``message_bit``      one bit of the message flipped;
``signature_bit``    one bit of the signature flipped;
``wrong_key``        verified under another random key;
``noncanonical_s``   S replaced by S + L (same point equation, S >= L): must be rejected;
``small_order_key``  the public key is a point of order 1, 2, 4 or 8 (canonical and
                     non-canonical encodings), with a signature crafted so that the
                     cofactorless equation [S]B = R + [k]A holds (S = 0, R = -[k]A);
``small_order_r``    R is the identity (r = 0, a legitimate but degenerate signature), in
                     its canonical and in a non-canonical encoding.

The expected verdict is the reference's, except where the firmware's documented policy is
stricter (ws_crypto.h): it rejects every small-order public key even when the equation
holds. ``small_order_key`` cases therefore expect rejection; how often OpenSSL accepts them
is reported as ``reference_accepts_small_order_key``.

The curve arithmetic here is a plain affine implementation used only to craft inputs.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterator

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int]
IDENTITY: Point = (0, 1)

KINDS = (
    "valid",
    "message_bit",
    "signature_bit",
    "wrong_key",
    "noncanonical_s",
    "small_order_key",
    "small_order_r",
)


def point_add(p: Point, q: Point) -> Point:
    (x1, y1), (x2, y2) = p, q
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + x2 * y1) * pow(1 + t, P - 2, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P
    return x3, y3


def point_mul(n: int, p: Point) -> Point:
    result = IDENTITY
    while n:
        if n & 1:
            result = point_add(result, p)
        p = point_add(p, p)
        n >>= 1
    return result


def point_neg(p: Point) -> Point:
    return (-p[0]) % P, p[1]


def encode(p: Point, y_offset: int = 0) -> bytes:
    """Canonical encoding, or with ``y_offset = P`` the non-canonical one (when y < 19)."""
    y = p[1] + y_offset
    return (y | ((p[0] & 1) << 255)).to_bytes(32, "little")


def recover_x(y: int, sign: int) -> int | None:
    u, v = (y * y - 1) % P, (D * y * y + 1) % P
    x = u * pow(v, 3, P) * pow(u * pow(v, 7, P), (P - 5) // 8, P) % P
    if v * x * x % P != u:
        if v * x * x % P != (-u) % P:
            return None
        x = x * SQRT_M1 % P
    if x & 1 != sign:
        x = (-x) % P
    return x


@functools.cache
def small_order_points() -> tuple[Point, ...]:
    """The eight points of order dividing 8, found as [L]P for points P of the curve."""
    found: set[Point] = {IDENTITY}
    y = 2
    while len(found) < 8:
        x = recover_x(y, 0)
        y += 1
        if x is None:
            continue
        torsion = point_mul(L, (x, y - 1))
        multiple = torsion
        for _ in range(8):
            found.add(multiple)
            multiple = point_add(multiple, torsion)
    return tuple(sorted(found))


def small_order_encodings() -> list[bytes]:
    """Every encoding of a small-order point: canonical ones, non-canonical y (y + p fits in
    255 bits only when y < 19) and the "negative zero" x sign bit."""
    out = []
    for point in small_order_points():
        out.append(encode(point))
        if point[1] + P < 2**255:
            out.append(encode(point, P))
        if point[0] == 0:
            out.append((point[1] | (1 << 255)).to_bytes(32, "little"))
    return out


def _k(r: bytes, a: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r + a + message).digest(), "little") % L


def forge_for_small_order_key(key: bytes, message: bytes) -> bytes | None:
    """A signature (R, S = 0) that satisfies [S]B = R + [k]A for the small-order key A:
    R = -[k]A must hold, and k depends on R, so try every small-order R. None when the key
    does not decode (then any signature will do)."""
    y = int.from_bytes(key, "little") & ((1 << 255) - 1)
    x = recover_x(y % P, key[31] >> 7)
    if x is None:
        return None
    a_point = (x, y % P)
    for r_point in small_order_points():
        r = encode(r_point)
        if point_neg(point_mul(_k(r, key, message) % 8, a_point)) == r_point:
            return r + bytes(32)
    return None


def _raw(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _secret_scalar(private_key: Ed25519PrivateKey) -> int:
    seed = private_key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    h = bytearray(hashlib.sha512(seed).digest()[:32])
    h[0] &= 248
    h[31] &= 127
    h[31] |= 64
    return int.from_bytes(h, "little")


def reference_verify(signature: bytes, message: bytes, public_key: bytes) -> bool:
    """OpenSSL's verdict through ``cryptography``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclasses.dataclass(frozen=True)
class Case:
    kind: str
    signature: bytes
    message: bytes
    public_key: bytes


def make_case(kind: str, rng: random.Random) -> Case:
    message = rng.randbytes(rng.randrange(0, 200))
    private_key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
    public_key = _raw(private_key.public_key())
    signature = private_key.sign(message)
    if kind == "valid":
        return Case(kind, signature, message, public_key)
    if kind == "message_bit":
        flipped = bytearray(message or b"\x00")
        bit = rng.randrange(len(flipped) * 8)
        flipped[bit // 8] ^= 1 << (bit % 8)
        return Case(kind, signature, bytes(flipped), public_key)
    if kind == "signature_bit":
        flipped = bytearray(signature)
        bit = rng.randrange(512)
        flipped[bit // 8] ^= 1 << (bit % 8)
        return Case(kind, bytes(flipped), message, public_key)
    if kind == "wrong_key":
        other = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        return Case(kind, signature, message, _raw(other.public_key()))
    if kind == "noncanonical_s":
        s = int.from_bytes(signature[32:], "little") + L
        if s >= 2**256:
            s -= L  # cannot be made non-canonical this way; keep S and flip R instead
            return Case(kind, bytes([signature[0] ^ 1]) + signature[1:], message, public_key)
        return Case(kind, signature[:32] + s.to_bytes(32, "little"), message, public_key)
    if kind == "small_order_key":
        key = rng.choice(small_order_encodings())
        forged = forge_for_small_order_key(key, message) or rng.randbytes(32) + bytes(32)
        return Case(kind, forged, message, key)
    if kind == "small_order_r":
        k = _k(encode(IDENTITY), public_key, message)
        s = k * _secret_scalar(private_key) % L
        r = encode(IDENTITY, P if rng.random() < 0.5 else 0)
        return Case(kind, r + s.to_bytes(32, "little"), message, public_key)
    raise ValueError(f"unknown cross-check kind {kind!r}")


def expected_verdict(case: Case, reference: bool) -> bool:
    """The firmware's required verdict: the reference's, but never accept a small-order key."""
    return False if case.kind == "small_order_key" else reference


@dataclasses.dataclass
class CrosscheckResult:
    total: int = 0
    failures: int = 0
    by_kind: Counter[str] = dataclasses.field(default_factory=Counter)
    accepted_by_kind: Counter[str] = dataclasses.field(default_factory=Counter)
    reference_accepts_small_order_key: int = 0
    failed_cases: list[Case] = dataclasses.field(default_factory=list)


def cases(count: int, seed: int) -> Iterator[Case]:
    """``count`` cases cycling through every kind, reproducible from ``seed``."""
    rng = random.Random(seed)
    for i in range(count):
        yield make_case(KINDS[i % len(KINDS)], rng)


def crosscheck(
    verify: Callable[[bytes, bytes, bytes], bool],
    count: int,
    seed: int = 2026,
    progress: Callable[[Iterator[Case]], Iterator[Case]] | None = None,
) -> CrosscheckResult:
    """Runs ``count`` cases through ``verify`` (the firmware's) and the reference."""
    result = CrosscheckResult()
    stream = cases(count, seed)
    for case in progress(stream) if progress else stream:
        reference = reference_verify(case.signature, case.message, case.public_key)
        ours = verify(case.signature, case.message, case.public_key)
        result.total += 1
        result.by_kind[case.kind] += 1
        result.accepted_by_kind[case.kind] += int(ours)
        if case.kind == "small_order_key":
            result.reference_accepts_small_order_key += int(reference)
        if ours != expected_verdict(case, reference):
            result.failures += 1
            if len(result.failed_cases) < 10:
                result.failed_cases.append(case)
    return result
