"""The C firmware core, loaded into Python through cffi.

``core()`` returns the build the process should use: the plain one, or the
AddressSanitizer/UBSan build when ``WEARSENSE_SANITIZED=1`` (only valid in a process
started with the sanitizer runtime preloaded, as ``make test``'s second pass does).
The emulator, training and tests all call the firmware through here, so the host
runs exactly the C the device runs.
"""

from __future__ import annotations

import functools
import importlib
import os
from types import ModuleType
from typing import Any


class FirmwareNotBuilt(ImportError):
    """The cffi extension is missing: run `make firmware` (or `pip install -e .`)."""


@functools.cache
def core(sanitized: bool | None = None) -> ModuleType:
    """The loaded extension module; ``.lib`` holds the C functions, ``.ffi`` the types."""
    if sanitized is None:
        sanitized = os.environ.get("WEARSENSE_SANITIZED") == "1"
    name = "wearsense._firmware_asan" if sanitized else "wearsense._firmware"
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise FirmwareNotBuilt(f"{name} is not built ({exc}); run `make firmware`") from exc


def lib() -> Any:
    return core().lib


def ffi() -> Any:
    return core().ffi
