"""Ed25519 signing keys for model packages and firmware images.

- The **development key** (``dev_keys/wearsense-DEV-emulator-only.ed25519.pem``, committed
  on purpose) signs packages for the emulator and the tests. Its name says DEV, and every
  package it signs carries the DEV flag in its signed header; only firmware built with
  ``WS_TRUST_DEV_KEY=1`` trusts it (the emulator, the tests; firmware/src/updates/
  trusted_key.c). A production build trusts a maker's key instead.
- A **production key** is read from ``--key PATH`` or the environment variable
  ``WEARSENSE_SIGNING_KEY`` (a path); it is never committed (``*.ed25519.pem`` is
  git-ignored outside ``dev_keys``). ``wearsense keys generate`` makes one.

- The **development image key** (``dev_keys/wearsense-DEV-image-emulator-only.ed25519.pem``,
  committed on purpose like the other) signs firmware images (MCUboot's format, signed by
  ``imgtool``; ``wearsense.updates.firmware_image``) for the emulator and the tests. A
  production image is signed with a maker's key made by ``wearsense keys generate``, and
  ``sign_image(..., production=True)`` refuses the development image key.

Key files are PEM: PKCS#8 for the private key (mode 0600), SubjectPublicKeyInfo for the
public key next to it (``NAME.ed25519.pem`` → ``NAME.ed25519.pub.pem``). A private key file
that its group or others may read or write is refused (``KeyFileError``), except the
committed development key, which is public on purpose.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from wearsense.protocol.package import KEY_ID_SIZE
from wearsense.store.private_files import PrivateFileError, read_private, write_private
from wearsense.updates.errors import KeyFileError

DEV_KEY_NAME = "wearsense-DEV-emulator-only"
DEV_KEY_DIR = Path(__file__).resolve().parent / "dev_keys"
DEV_KEY_PATH = DEV_KEY_DIR / f"{DEV_KEY_NAME}.ed25519.pem"
DEV_PUBLIC_KEY_PATH = DEV_KEY_DIR / f"{DEV_KEY_NAME}.ed25519.pub.pem"
DEV_IMAGE_KEY_NAME = "wearsense-DEV-image-emulator-only"
DEV_IMAGE_KEY_PATH = DEV_KEY_DIR / f"{DEV_IMAGE_KEY_NAME}.ed25519.pem"
DEV_IMAGE_PUBLIC_KEY_PATH = DEV_KEY_DIR / f"{DEV_IMAGE_KEY_NAME}.ed25519.pub.pem"
RESERVED_KEY_NAMES = (DEV_KEY_NAME, DEV_IMAGE_KEY_NAME)
ENV_SIGNING_KEY = "WEARSENSE_SIGNING_KEY"


def key_id_of(raw_public_key: bytes) -> bytes:
    """The first 8 bytes of SHA-256(public key): what a package header names."""
    return hashlib.sha256(raw_public_key).digest()[:KEY_ID_SIZE]


@functools.cache
def dev_public_raw() -> bytes:
    return load_public_key(DEV_PUBLIC_KEY_PATH, _check_dev=False).raw


@functools.cache
def dev_image_public_raw() -> bytes:
    return load_public_key(DEV_IMAGE_PUBLIC_KEY_PATH, _check_dev=False).raw


@dataclasses.dataclass(frozen=True)
class PublicKey:
    raw: bytes
    name: str

    @property
    def key_id(self) -> bytes:
        return key_id_of(self.raw)

    @property
    def is_dev(self) -> bool:
        return self.raw == dev_public_raw()

    @property
    def is_dev_image(self) -> bool:
        """The development firmware-image key (emulator and tests only)."""
        return self.raw == dev_image_public_raw()

    def verify(self, signature: bytes, message: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature

        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclasses.dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    name: str

    @property
    def public(self) -> PublicKey:
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return PublicKey(raw, self.name)

    @property
    def is_dev(self) -> bool:
        return self.public.is_dev

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def public_path_for(private_path: Path) -> Path:
    return private_path.with_name(private_path.name.removesuffix(".pem") + ".pub.pem")


def _key_name(path: Path) -> str:
    return path.name.split(".")[0]


def _read_private_key(path: Path, what: str) -> bytes:
    try:
        return read_private(path, what)
    except PrivateFileError as exc:
        raise KeyFileError(str(exc)) from exc
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the {what} ({exc.strerror})") from exc


def _is_dev_key_file(path: Path) -> bool:
    """A committed development key: public on purpose, its file's mode is not checked."""
    return path.resolve() in (DEV_KEY_PATH.resolve(), DEV_IMAGE_KEY_PATH.resolve())


def load_signing_key(path: Path | None = None) -> SigningKey:
    """The key at ``path``, else at ``$WEARSENSE_SIGNING_KEY``; never a default, so a
    production signature is always a deliberate choice (use ``dev_signing_key()`` for the
    emulator). A key file its group or others may read or write is refused."""
    if path is None:
        env = os.environ.get(ENV_SIGNING_KEY)
        if not env:
            raise KeyFileError(
                f"no signing key: pass --key PATH, set {ENV_SIGNING_KEY}=PATH, "
                "or use --dev-key for the emulator"
            )
        path = Path(env)
    if not _is_dev_key_file(path):
        data = _read_private_key(path, "signing key")
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot read the signing key ({exc.strerror})") from exc
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{path}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    return SigningKey(key, _key_name(path))


def dev_signing_key() -> SigningKey:
    """The committed DEVELOPMENT key (emulator and tests only; public on purpose, so its
    file's mode is not checked)."""
    return load_signing_key(DEV_KEY_PATH)


def load_public_key(path: Path, _check_dev: bool = True) -> PublicKey:
    """A public key from a PEM public key, or the public half of a PEM private key (whose
    file, like any private key's, must be private to its owner)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read the public key ({exc.strerror})") from exc
    key: object
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        if b"PRIVATE KEY" in data and not _is_dev_key_file(path):
            _read_private_key(path, "private key")
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError) as exc:
            raise KeyFileError(f"{path}: not a PEM Ed25519 key") from exc
        key = private.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"{path}: not an Ed25519 key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return PublicKey(raw, _key_name(path))


def generate_key(path: Path, overwrite: bool = False) -> SigningKey:
    """Writes a new key pair: ``path`` (private, created with mode 0600, replacing any
    file there whole) and its ``.pub.pem``."""
    public_path = public_path_for(path)
    if not overwrite and (path.exists() or public_path.exists()):
        raise KeyFileError(f"{path}: exists; pass --force to replace it")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_private(path, pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return SigningKey(key, _key_name(path))
