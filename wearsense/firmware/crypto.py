"""The firmware's SHA-256, SHA-512 and Ed25519 verification (firmware/src/crypto) called
from Python, so tests and benchmarks hold the C code to hashlib, ``cryptography`` and the
RFC 8032 vectors, and the host can check a package exactly as the device will."""

from __future__ import annotations

from types import ModuleType

from wearsense.firmware import core
from wearsense.protocol.errors import Status

SIGNATURE_SIZE = 64
PUBLIC_KEY_SIZE = 32


class FirmwareCrypto:
    """The C crypto of one firmware build (plain, or the sanitizer build for tests)."""

    def __init__(self, module: ModuleType | None = None) -> None:
        self.module = module or core()
        self.ffi, self.lib = self.module.ffi, self.module.lib

    def sha256(self, data: bytes) -> bytes:
        out = self.ffi.new("uint8_t[32]")
        self.lib.ws_sha256(data, len(data), out)
        return bytes(out)

    def sha512(self, data: bytes) -> bytes:
        out = self.ffi.new("uint8_t[64]")
        self.lib.ws_sha512(data, len(data), out)
        return bytes(out)

    def sha256_chunks(self, chunks: list[bytes]) -> bytes:
        """SHA-256 fed through the streaming interface, one update per chunk."""
        ctx = self.ffi.new("ws_sha256_t *")
        self.lib.ws_sha256_init(ctx)
        for chunk in chunks:
            self.lib.ws_sha256_update(ctx, chunk, len(chunk))
        out = self.ffi.new("uint8_t[32]")
        self.lib.ws_sha256_final(ctx, out)
        return bytes(out)

    def sha512_chunks(self, chunks: list[bytes]) -> bytes:
        ctx = self.ffi.new("ws_sha512_t *")
        self.lib.ws_sha512_init(ctx)
        for chunk in chunks:
            self.lib.ws_sha512_update(ctx, chunk, len(chunk))
        out = self.ffi.new("uint8_t[64]")
        self.lib.ws_sha512_final(ctx, out)
        return bytes(out)

    def ed25519_status(self, signature: bytes, message: bytes, public_key: bytes) -> Status:
        """The firmware's verdict: Status.OK, Status.PKG_SIGNATURE, or Status.ARG for a
        signature or key of the wrong length."""
        if len(signature) != SIGNATURE_SIZE or len(public_key) != PUBLIC_KEY_SIZE:
            return Status.ARG
        msg = message if message else self.ffi.NULL
        return Status(int(self.lib.ws_ed25519_verify(signature, msg, len(message), public_key)))

    def ed25519_verify(self, signature: bytes, message: bytes, public_key: bytes) -> bool:
        return self.ed25519_status(signature, message, public_key) == Status.OK
