"""Firmware images in MCUboot's format (docs/firmware-update.md): a small dummy body signed
by MCUboot's own imgtool in a tmp dir, verified by the device's C verifier through the
binding, and each bad input refused with its own status."""

from __future__ import annotations

import hashlib
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest

from wearsense.firmware.image import FirmwareImages
from wearsense.protocol.errors import Status
from wearsense.updates.errors import KeyFileError
from wearsense.updates.firmware_image import imgtool_command, sign_image
from wearsense.updates.keys import (
    DEV_IMAGE_KEY_PATH,
    dev_image_public_raw,
    generate_key,
    load_public_key,
)

HEADER = 0x80
SLOT = 0x2000
BODY = bytes((i * 29 + 3) & 0xFF for i in range(517))
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def imgtool_sign(tmp: Path, key: Path | None, counter: int = 5, *extra: str) -> bytes:
    src, out = tmp / "body.bin", tmp / f"signed-{counter}-{len(extra)}.bin"
    src.write_bytes(BODY)
    cmd = [*imgtool_command(), "sign", "--version", "1.4.2+77", "--header-size", hex(HEADER)]
    cmd += ["--pad-header", "--slot-size", hex(SLOT), "--security-counter", str(counter)]
    cmd += ["--key", str(key)] if key else []
    subprocess.run([*cmd, *extra, str(src), str(out)], check=True, capture_output=True)
    return out.read_bytes()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("image-keys")
    maker = tmp / "maker-image.ed25519.pem"
    generate_key(maker)
    return {"dir": tmp, "maker": maker, "maker_raw": load_public_key(maker).raw}


@pytest.fixture(scope="module")
def signed(keys: dict[str, Any]) -> bytes:
    return imgtool_sign(keys["dir"], keys["maker"])


def tlvs(image: bytes) -> dict[int, int]:
    """type -> offset of each TLV header in the unprotected area (the test's own walk)."""
    hdr, prot, size = struct.unpack_from("<HHI", image, 8)
    off = hdr + size + prot
    magic, total = struct.unpack_from("<HH", image, off)
    assert magic == 0x6907
    found, end, off = {}, off + total, off + 4
    while off < end:
        kind, length = struct.unpack_from("<HH", image, off)
        found[kind] = off
        off += 4 + length
    return found


def flip(image: bytes, offset: int, bit: int = 1) -> bytes:
    data = bytearray(image)
    data[offset] ^= bit
    return bytes(data)


def put(image: bytes, offset: int, fmt: str, value: int) -> bytes:
    data = bytearray(image)
    struct.pack_into(fmt, data, offset, value)
    return bytes(data)


def test_imgtool_image_verifies_and_reports_its_header(signed: bytes, keys: dict) -> None:
    images = FirmwareImages()
    status, info = images.verify(signed, keys["maker_raw"], 5)
    assert status == Status.OK and info is not None
    assert info.version == (1, 4, 2, 77) and info.version_text == "1.4.2+77"
    assert info.security_counter == 5
    assert (info.header_size, info.image_size, info.total_size) == (HEADER, len(BODY), len(signed))
    assert signed[HEADER : HEADER + len(BODY)] == BODY
    prot_end = HEADER + len(BODY) + info.protected_tlv_size
    assert info.hash == hashlib.sha256(signed[:prot_end]).digest()
    # the TLVs imgtool 2.5 writes for an Ed25519 key: SHA256, KEYHASH (of the key's DER
    # SubjectPublicKeyInfo) and ED25519 over the 32-byte hash, not over the image
    found = tlvs(signed)
    assert sorted(found) == [0x01, 0x10, 0x24]
    keyhash = signed[found[0x01] + 4 : found[0x01] + 36]
    assert keyhash == hashlib.sha256(SPKI_PREFIX + keys["maker_raw"]).digest()
    signature = signed[found[0x24] + 4 : found[0x24] + 68]
    assert load_public_key(keys["maker"]).verify(signature, info.hash)
    # in a slot of erased flash, and imgtool's own verifier agrees
    assert images.verify(signed + b"\xff" * 100, keys["maker_raw"])[0] == Status.OK
    path = keys["dir"] / "check.bin"
    path.write_bytes(signed)
    done = subprocess.run(
        [*imgtool_command(), "verify", "-k", str(keys["maker"]), str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and "Image was correctly validated" in done.stdout


def bad_inputs(signed: bytes, keys: dict) -> list[tuple[str, bytes, bytes, int, Status]]:
    """(name, slot, trusted key, minimum counter, expected status) for each bad input."""
    raw = keys["maker_raw"]
    found = tlvs(signed)
    prot = HEADER + len(BODY)
    tlv_area = prot + 12
    old = imgtool_sign(keys["dir"], keys["maker"], 3)
    unsigned = imgtool_sign(keys["dir"], None, 5)
    pure = imgtool_sign(keys["dir"], keys["maker"], 5, "--pure")
    dup = signed + struct.pack("<HH", 0x10, 32) + bytes(32)
    dup = put(dup, tlv_area + 2, "<H", len(dup) - tlv_area)
    # signed by another key but naming the trusted one: only the signature check stops it
    foreign = imgtool_sign(keys["dir"], DEV_IMAGE_KEY_PATH, 6)
    at = tlvs(foreign)[0x01] + 4
    forged = foreign[:at] + hashlib.sha256(SPKI_PREFIX + raw).digest() + foreign[at + 32 :]
    return [
        ("body byte", flip(signed, HEADER + 100), raw, 0, Status.IMG_HASH),
        ("header version byte", flip(signed, 20), raw, 0, Status.IMG_HASH),
        ("header padding byte", flip(signed, 40), raw, 0, Status.IMG_HASH),
        ("protected TLV (counter)", flip(signed, prot + 8, 0x10), raw, 0, Status.IMG_HASH),
        ("hash TLV value", flip(signed, found[0x10] + 10), raw, 0, Status.IMG_HASH),
        ("foreign key", signed, dev_image_public_raw(), 0, Status.IMG_KEY),
        ("signature byte", flip(signed, found[0x24] + 30), raw, 0, Status.IMG_SIGNATURE),
        ("key hash byte", flip(signed, found[0x01] + 4), raw, 0, Status.IMG_KEY),
        ("foreign signature, trusted key hash", forged, raw, 0, Status.IMG_SIGNATURE),
        ("lower security counter", old, raw, 4, Status.IMG_ROLLBACK),
        ("truncated image", signed[:-1], raw, 0, Status.IMG_BOUNDS),
        ("truncated body", signed[: HEADER + 200], raw, 0, Status.IMG_BOUNDS),
        ("header size lying", put(signed, 8, "<H", HEADER - 8), raw, 0, Status.IMG_TLV_INFO),
        ("header size past slot", put(signed, 8, "<H", 0xFFFF), raw, 0, Status.IMG_BOUNDS),
        ("header size < 32", put(signed, 8, "<H", 16), raw, 0, Status.IMG_HEADER),
        ("image size > slot", put(signed, 12, "<I", SLOT), raw, 0, Status.IMG_BOUNDS),
        ("encrypted flag", put(signed, 16, "<I", 0x4), raw, 0, Status.IMG_HEADER),
        ("bad magic", flip(signed, 3), raw, 0, Status.IMG_MAGIC),
        ("protected size lying", put(signed, 10, "<H", 16), raw, 0, Status.IMG_TLV_INFO),
        ("TLV area past slot", put(signed, tlv_area + 2, "<H", 0x4000), raw, 0, Status.IMG_BOUNDS),
        ("TLV length overflow", put(signed, found[0x24] + 2, "<H", 65), raw, 0, Status.IMG_TLV),
        # the area said 10 bytes shorter: the signature's value ends past the area's end
        (
            "TLV past its area",
            put(signed, tlv_area + 2, "<H", len(signed) - tlv_area - 10),
            raw,
            0,
            Status.IMG_TLV,
        ),
        ("TLV wrong length", put(signed, found[0x10] + 2, "<H", 28), raw, 0, Status.IMG_TLV),
        ("counter unprotected", put(signed, found[0x24], "<H", 0x50), raw, 0, Status.IMG_TLV),
        ("duplicate SHA256", dup, raw, 0, Status.IMG_TLV_DUP),
        ("unsigned image", unsigned, raw, 0, Status.IMG_TLV_MISSING),
        # --pure: SHA512 and a 64-byte (SHA-512) KEYHASH, signature over the whole image
        ("pure signature", pure, raw, 0, Status.IMG_TLV),
        ("no counter", put(signed, prot + 4, "<H", 0xA0), raw, 0, Status.IMG_TLV_MISSING),
    ]


def run_bad_inputs(images: FirmwareImages, signed: bytes, keys: dict) -> list[str]:
    wrong = []
    for name, slot, key, minimum, expected in bad_inputs(signed, keys):
        status, _ = images.verify(slot, key, minimum)
        if status != expected:
            wrong.append(f"{name}: {status.name}, expected {expected.name}")
    return wrong


def test_each_bad_input_refused_with_its_status(signed: bytes, keys: dict) -> None:
    assert run_bad_inputs(FirmwareImages(), signed, keys) == []


@pytest.mark.sanitized
def test_bad_inputs_under_sanitizers(asan_core: Any, signed: bytes, keys: dict) -> None:
    images = FirmwareImages(asan_core)
    assert run_bad_inputs(images, signed, keys) == []
    for cut in range(0, len(signed), 7):
        assert images.verify(signed[:cut], keys["maker_raw"])[0] != Status.OK


def test_rollback_reports_the_authentic_counter(keys: dict) -> None:
    old = imgtool_sign(keys["dir"], keys["maker"], 3)
    status, info = FirmwareImages().verify(old, keys["maker_raw"], 4)
    assert status == Status.IMG_ROLLBACK and info is not None and info.security_counter == 3
    assert FirmwareImages().verify(old, keys["maker_raw"], 3)[0] == Status.OK


def test_sign_image_with_project_keys(tmp_path: Path, keys: dict) -> None:
    body = tmp_path / "fw.bin"
    body.write_bytes(BODY)
    out = tmp_path / "fw.signed.bin"
    info = sign_image(body, out, DEV_IMAGE_KEY_PATH, "2.0.1+3", 9, slot_size=SLOT)
    assert (info.version_text, info.security_counter, info.header_size) == ("2.0.1+3", 9, 0x200)
    assert load_public_key(DEV_IMAGE_KEY_PATH).is_dev_image
    with pytest.raises(KeyFileError, match="development key"):
        sign_image(body, out, DEV_IMAGE_KEY_PATH, "2.0.1", 9, production=True)
    assert sign_image(body, out, keys["maker"], "2.0.1", 9, production=True).version[0] == 2
    loose = tmp_path / "loose.ed25519.pem"
    loose.write_bytes(keys["maker"].read_bytes())
    loose.chmod(0o644)
    with pytest.raises(KeyFileError):
        sign_image(body, out, loose, "2.0.1", 9)


def test_parse_reads_structure_only(signed: bytes, keys: dict) -> None:
    images = FirmwareImages()
    corrupt = flip(signed, HEADER + 1)
    status, info = images.parse(corrupt)
    assert status == Status.OK and info is not None and info.total_size == len(signed)
    assert images.verify(corrupt, keys["maker_raw"])[0] == Status.IMG_HASH


def test_status_codes_match_the_firmware() -> None:
    lib = FirmwareImages().lib
    codes = {s.name: int(s) for s in Status if s.name.startswith("IMG_")}
    assert len(codes) == 11
    assert codes == {name: getattr(lib, f"WS_ERR_{name}") for name in codes}


def test_keys_command_knows_the_image_dev_key(tmp_path: Path, capsys) -> None:
    from wearsense.cli import main

    assert main(["keys", "show", str(DEV_IMAGE_KEY_PATH)]) == 0
    assert "DEVELOPMENT firmware-image" in capsys.readouterr().out
    reserved = tmp_path / "wearsense-DEV-image-emulator-only.ed25519.pem"
    assert main(["keys", "generate", str(reserved)]) == 1
    assert not reserved.exists()
