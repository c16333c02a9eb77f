"""The firmware's package verifier (firmware/src/updates/pkg.c) called from Python.

``check`` runs the device's steps 1-5; ``verify_on_interpreter`` runs all seven exactly as
the device does, with the int8 interpreter (ws_pkg_verify_nn); ``verify`` runs all seven
with the interpreter steps given as Python callables (cffi callbacks), so tests can drive
each step's outcome and check the order and the status codes.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from wearsense.firmware import core
from wearsense.protocol.errors import Status

ALIGN = 16
DEFAULT_ARENA_BYTES = 1 << 20

# validate_model(header, model bytes) -> status; run_self_test(header, model) -> (status,
# the int8 outputs)
ValidateHook = Callable[[Any, bytes], int]
SelfTestHook = Callable[[Any, bytes], tuple[int, list[int]]]


class FirmwarePackages:
    """The C package verifier of one firmware build (plain or sanitized)."""

    def __init__(self, module: ModuleType | None = None) -> None:
        self.module = module or core()
        self.ffi, self.lib = self.module.ffi, self.module.lib

    def trusted_key(self) -> bytes:
        return bytes(self.ffi.buffer(self.lib.ws_pkg_trusted_key(), 32))

    def trusted_key_is_dev(self) -> bool:
        return bool(self.lib.ws_pkg_trusted_key_is_dev())

    def selftest_input(self, seed: int, count: int) -> bytes:
        out = self.ffi.new("int8_t[]", max(count, 1))
        self.lib.ws_pkg_selftest_input(seed, out, count)
        return bytes(self.ffi.buffer(out, count))

    def _buffer(self, data: bytes) -> Any:
        # A fresh copy: the C code reads exactly len bytes, and ASan sees the true end.
        buf = self.ffi.new("uint8_t[]", max(len(data), 1))
        self.ffi.memmove(buf, data, len(data))
        return buf

    def _aligned(self, size: int) -> tuple[Any, Any]:
        """(owner, pointer) of ``size`` bytes starting on a 16-byte boundary, as a package
        lies in flash: the model inside it is then aligned for in-place reading."""
        owner = self.ffi.new("uint8_t[]", size + ALIGN)
        address = int(self.ffi.cast("uintptr_t", owner))
        return owner, self.ffi.cast("uint8_t *", owner) + (-address % ALIGN)

    def _expect(self, task: int, placement: int, installed_version: int) -> Any:
        return self.ffi.new(
            "ws_pkg_expect_t *",
            {"task": task, "placement": placement, "installed_version": installed_version},
        )

    def parse_header(self, data: bytes) -> Status:
        header = self.ffi.new("ws_pkg_header_t *")
        return Status(int(self.lib.ws_pkg_parse_header(self._buffer(data), len(data), header)))

    def check(
        self,
        data: bytes,
        public_key: bytes,
        task: int,
        placement: int,
        installed_version: int = 0,
    ) -> Status:
        status = self.lib.ws_pkg_check(
            self._buffer(data),
            len(data),
            public_key,
            self._expect(task, placement, installed_version),
            self.ffi.NULL,
        )
        return Status(int(status))

    def verify(
        self,
        data: bytes,
        public_key: bytes,
        task: int,
        placement: int,
        installed_version: int,
        validate_model: ValidateHook,
        run_self_test: SelfTestHook,
    ) -> Status:
        """All seven steps; the hooks see the decoded header (cdata) and the model."""
        ffi = self.ffi

        @ffi.callback("ws_status_t(*)(void *, const ws_pkg_header_t *, const uint8_t *)")
        def _validate(_ctx: Any, header: Any, model: Any) -> int:
            return int(validate_model(header, bytes(ffi.buffer(model, header.model_size))))

        @ffi.callback("ws_status_t(*)(void *, const ws_pkg_header_t *, const uint8_t *, int8_t *)")
        def _self_test(_ctx: Any, header: Any, model: Any, output: Any) -> int:
            status, values = run_self_test(header, bytes(ffi.buffer(model, header.model_size)))
            for i, value in enumerate(values[: header.output_count]):
                output[i] = value
            return int(status)

        ops = ffi.new("ws_pkg_ops_t *")
        ops.validate_model = _validate
        ops.run_self_test = _self_test
        status = self.lib.ws_pkg_verify(
            self._buffer(data),
            len(data),
            public_key,
            self._expect(task, placement, installed_version),
            ops,
            ffi.NULL,
        )
        return Status(int(status))

    def verify_on_interpreter(
        self,
        data: bytes,
        public_key: bytes,
        task: int,
        placement: int,
        installed_version: int = 0,
        arena_bytes: int = DEFAULT_ARENA_BYTES,
    ) -> tuple[Status, int]:
        """All seven steps with the C interpreter: (status, the interpreter's own status
        when it refused the model or the self-test run, else 0)."""
        owner, pkg = self._aligned(max(len(data), 1))
        self.ffi.memmove(pkg, data, len(data))
        model_owner, model = self._aligned(int(self.lib.ws_nn_model_struct_size()))
        arena_owner, arena = self._aligned(max(arena_bytes, 1))
        nn = self.ffi.new(
            "ws_pkg_nn_t *",
            {
                "model": self.ffi.cast("ws_nn_model_t *", model),
                "arena": arena,
                "arena_size": arena_bytes,
            },
        )
        status = self.lib.ws_pkg_verify_nn(
            pkg,
            len(data),
            public_key,
            self._expect(task, placement, installed_version),
            nn,
            self.ffi.NULL,
        )
        return Status(int(status)), int(nn.nn_status)
