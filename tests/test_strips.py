"""The strip block codec and the strip image (docs/strips.md): the C encoder against the
Python reference decoder and the C decoder on edge cases, and every truncation and
corruption refused cleanly by both decoders."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from wearsense import firmware
from wearsense.protocol import crc16
from wearsense.strips import (
    BLOCK_MAX_BYTES,
    HEADER_SIZE,
    StripFormatError,
    build_image,
    decode_block,
    decode_payload,
    encode_block,
    parse_image,
)
from wearsense.strips.codec import BLOCK_SAMPLES, METHOD_VERBATIM, encode_samples

WS_OK, WS_ERR_RANGE = 0, 5


N = BLOCK_SAMPLES  # a full block


def c_decode(block: bytes, cap: int = N) -> tuple[int, np.ndarray, int]:
    ffi, lib = firmware.ffi(), firmware.lib()
    x = ffi.new(f"int16_t[{N}]")
    n, used = ffi.new("size_t *"), ffi.new("size_t *")
    status = lib.ws_strip_decode_block(block, len(block), x, cap, n, used)
    samples = np.frombuffer(ffi.buffer(x, 2 * n[0]), dtype=np.int16).copy()
    return status, samples, used[0]


def ecg_like(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    wave = 300 * np.sin(2 * np.pi * t / 250) + rng.normal(0, 4, n)
    wave[(t % 270) == 100] += 1200
    return np.round(wave).astype(np.int16)


CASES = {
    "one": np.array([-1234], dtype=np.int16),
    "two": np.array([5, -7], dtype=np.int16),
    "full": ecg_like(N),
    "short": ecg_like(77, seed=2),
    "one_less": ecg_like(N - 1, seed=5),
    "constant": np.full(N, 777, dtype=np.int16),
    "zeros": np.zeros(N, dtype=np.int16),
    "extremes": np.where(np.arange(N) % 2, 32767, -32768).astype(np.int16),
    "steps": np.repeat(np.array([-32768, 32767, 0, -1], dtype=np.int16), N // 4),
    "noise": np.random.default_rng(3).integers(-32768, 32768, N).astype(np.int16),
    "short_noise": np.random.default_rng(6).integers(-32768, 32768, 100).astype(np.int16),
}


def header_bytes(n: int) -> int:
    return 3 if n == N else 5


@pytest.mark.parametrize("name", sorted(CASES))
def test_round_trip_c_encoder_python_and_c_decoders(name: str) -> None:
    x = CASES[name]
    block = encode_block(x)
    assert len(block) <= min(BLOCK_MAX_BYTES, header_bytes(len(x)) + 2 * len(x))
    assert struct.unpack_from("<H", block) == (len(block),)
    # the count is written only for a block shorter than a full one (method bit 7)
    if len(x) == N:
        assert block[2] & 0x80 == 0
    else:
        assert block[2] & 0x80 and struct.unpack_from("<H", block, 3) == (len(x),)
    assert firmware.lib().ws_strip_block_samples(block, len(block)) == len(x)
    got, end = decode_block(block + b"\xa5\xa5", 0)
    assert end == len(block)
    assert np.array_equal(got, x)
    status, c_got, used = c_decode(block + b"\xa5")
    assert (status, used) == (WS_OK, len(block))
    assert np.array_equal(c_got, x)


def test_noise_is_stored_verbatim_and_a_constant_shrinks() -> None:
    noisy = encode_block(CASES["noise"])
    assert noisy[2] == METHOD_VERBATIM and len(noisy) == 3 + 2 * N
    short = encode_block(CASES["short_noise"])
    assert short[2] == 0x80 | METHOD_VERBATIM and len(short) == 5 + 200
    assert len(encode_block(CASES["constant"])) < 3 + N // 4
    assert len(encode_block(CASES["full"])) < N  # under 8 bits a sample


def test_encode_block_rejects_bad_sizes() -> None:
    with pytest.raises(ValueError):
        encode_block(np.zeros(0, dtype=np.int16))
    with pytest.raises(ValueError):
        encode_block(np.zeros(N + 1, dtype=np.int16))


@pytest.mark.parametrize("name", ["one", "full", "short", "one_less", "extremes", "steps"])
def test_every_truncation_is_refused_by_both_decoders(name: str) -> None:
    block = encode_block(CASES[name])
    for cut in range(len(block)):
        with pytest.raises(StripFormatError):
            decode_block(block[:cut], 0)
        status, samples, used = c_decode(block[:cut])
        assert (status, len(samples), used) == (WS_ERR_RANGE, 0, 0)


@pytest.mark.parametrize("name", ["full", "short", "extremes"])
def test_every_byte_corruption_refused_or_decoded_alike(name: str) -> None:
    """No CRC inside a block (the image has one): a corrupted block is either refused by
    both decoders or decoded by both to the same samples."""
    block = encode_block(CASES[name])
    refused = 0
    for at in range(len(block)):
        for flip in (0x01, 0x10, 0x80, 0xFF):
            bad = bytearray(block)
            bad[at] ^= flip
            status, c_samples, used = c_decode(bytes(bad))
            try:
                py_samples, end = decode_block(bytes(bad), 0)
            except StripFormatError:
                assert status == WS_ERR_RANGE
                refused += 1
                continue
            assert status == WS_OK and used == end
            assert np.array_equal(py_samples, c_samples)
    assert refused > 0


def test_c_decoder_checks_room_and_arguments() -> None:
    block = encode_block(CASES["full"])
    assert c_decode(block, cap=N - 1)[0] == WS_ERR_RANGE
    assert c_decode(block, cap=N)[0] == WS_OK


def test_a_count_field_out_of_range_is_refused() -> None:
    """A shorter block's count must be 1..N-1: a full block has no count field, so each
    block has one form."""
    block = bytearray(encode_block(CASES["short"]))
    lib = firmware.lib()
    for count in (0, N, N + 1, 0xFFFF):
        struct.pack_into("<H", block, 3, count)
        assert lib.ws_strip_block_samples(bytes(block), len(block)) == 0
        with pytest.raises(StripFormatError):
            decode_block(bytes(block), 0)
        assert c_decode(bytes(block))[0] == WS_ERR_RANGE
    assert lib.ws_strip_block_samples(bytes(block), 4) == 0


def test_payload_of_many_blocks() -> None:
    x = ecg_like(2 * N + 100, seed=4)
    payload = encode_samples(x)
    assert np.array_equal(decode_payload(payload), x)
    with pytest.raises(StripFormatError):
        decode_payload(payload + b"\x00")


def image_fields() -> dict[str, int | float]:
    return dict(strip_id=7, reason=2, epoch=3, start_time_s=123456, start_ms=250, fs_hz=360,
                adc_gain=200.0, adc_zero=1024, event_seq=99)  # fmt: skip


def test_image_round_trip_and_layout() -> None:
    x = ecg_like(700)
    image = build_image(x, **image_fields())  # type: ignore[arg-type]
    assert image[:4] == b"WSTR" and image[4] == 1
    assert struct.unpack_from("<HH", image, 6) == (7, 3)
    assert struct.unpack_from("<f", image, 18)[0] == 200.0
    assert struct.unpack_from("<I", image, 26)[0] == 700
    assert struct.unpack_from("<I", image, 34)[0] == len(image) - HEADER_SIZE
    assert struct.unpack_from("<I", image, 38)[0] == zlib.crc32(image[HEADER_SIZE:])
    assert struct.unpack_from("<H", image, 42)[0] == crc16(image[:42])
    strip = parse_image(image)
    assert np.array_equal(strip.samples, x)
    assert (strip.strip_id, strip.reason, strip.epoch, strip.start_time_s, strip.start_ms) == (
        7, 2, 3, 123456, 250)  # fmt: skip
    assert (strip.fs_hz, strip.adc_zero, strip.event_seq, strip.n_samples) == (360, 1024, 99, 700)
    assert strip.image_crc32 == zlib.crc32(image)
    assert strip.reason_name == "recording"
    assert np.allclose(strip.millivolts(), (x - 1024) / 200.0)


def _reheader(image: bytes, offset: int, fmt: str, value: int | float) -> bytes:
    """The image with one header field replaced and the header CRC made right again."""
    b = bytearray(image)
    struct.pack_into(fmt, b, offset, value)
    struct.pack_into("<H", b, 42, crc16(bytes(b[:42])))
    return bytes(b)


def test_image_faults_are_refused() -> None:
    image = build_image(ecg_like(600), **image_fields())  # type: ignore[arg-type]
    for cut in (0, 10, 43, 44, len(image) - 1):
        with pytest.raises(StripFormatError):
            parse_image(image[:cut])
    with pytest.raises(StripFormatError):
        parse_image(image + b"\x00")
    bad_fields = [
        (0, "<4s", b"WSTX"), (4, "<B", 2), (5, "<B", 0), (5, "<B", 9), (6, "<H", 0),
        (14, "<H", 1000), (16, "<H", 0), (18, "<f", 0.0), (18, "<f", float("nan")),
        (26, "<I", 601), (34, "<I", 0), (38, "<I", 1),
    ]  # fmt: skip
    for offset, fmt, value in bad_fields:
        with pytest.raises(StripFormatError):
            parse_image(_reheader(image, offset, fmt, value))  # type: ignore[arg-type]
    # any flipped bit of the header or the payload is caught by the CRCs
    for at in range(0, len(image), 7):
        bad = bytearray(image)
        bad[at] ^= 0x04
        with pytest.raises(StripFormatError):
            parse_image(bytes(bad))
