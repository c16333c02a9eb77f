"""Builds the firmware core for the host as the cffi extension ``wearsense._firmware``.

The firmware's own C files are compiled by gcc with the strict flags the firmware
uses everywhere (``-Wall -Wextra -Werror``) into objects, and only cffi's generated
glue is compiled with cffi's defaults. A second variant, ``wearsense._firmware_asan``,
is built with AddressSanitizer and UndefinedBehaviorSanitizer for the C-facing tests.

The Python-visible API is taken from the public headers: every region between
``/* cdef-begin */`` and ``/* cdef-end */`` in ``firmware/include/*.h`` and
``firmware/port/host/*.h`` must be plain declarations cffi can parse.

Run directly (``python firmware/port/host/ffi_build.py [--variant plain|asan|all]``)
to rebuild in place; setup.py imports ``ffibuilder`` from here at install time.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from cffi import FFI

ROOT = Path(__file__).resolve().parents[3]
FIRMWARE = ROOT / "firmware"
INCLUDE = FIRMWARE / "include"
HOST_PORT = FIRMWARE / "port" / "host"
BUILD = ROOT / "build" / "host"

STRICT_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-Wshadow", "-Wvla", "-fPIC"]
# The host build is the emulator's and the tests' device: it trusts the committed
# DEVELOPMENT key (firmware/src/updates/trusted_key.c; a production build never does).
TRUST_FLAGS = ["-DWS_TRUST_DEV_KEY=1"]
VARIANT_FLAGS = {
    "plain": ["-O2"],
    "asan": [
        "-O1",
        "-g",
        "-fno-omit-frame-pointer",
        "-fsanitize=address,undefined",
        "-fno-sanitize-recover=undefined",
        "-DWS_SANITIZED=1",
    ],
}
MODULE = {"plain": "wearsense._firmware", "asan": "wearsense._firmware_asan"}
CDEF_RE = re.compile(r"/\* cdef-begin \*/(.*?)/\* cdef-end \*/", re.S)


def firmware_sources(variant: str) -> list[Path]:
    sources = sorted((FIRMWARE / "src").rglob("*.c"))
    sources += sorted(p for p in HOST_PORT.glob("*.c"))
    if variant != "asan":
        sources = [s for s in sources if not s.name.startswith("asan_")]
    return sources


INCLUDE_RE = re.compile(r'^#include "([^"]+)"', re.M)


def public_headers(variant: str) -> list[Path]:
    """Public headers, each after the headers it includes (cdef needs that order)."""
    found = sorted(INCLUDE.glob("*.h")) + sorted(HOST_PORT.glob("*.h"))
    if variant != "asan":
        found = [h for h in found if not h.name.startswith("asan_")]
    by_name = {h.name: h for h in found}
    ordered: list[Path] = []

    def visit(header: Path, stack: tuple[str, ...]) -> None:
        if header in ordered or header.name in stack:
            return
        for name in INCLUDE_RE.findall(header.read_text()):
            if name in by_name:
                visit(by_name[name], stack + (header.name,))
        ordered.append(header)

    for header in found:
        visit(header, ())
    return ordered


def cdef_text(headers: list[Path]) -> str:
    parts = []
    for header in headers:
        for block in CDEF_RE.findall(header.read_text()):
            parts.append(f"/* {header.name} */\n{block}")
    return "\n".join(parts)


def compile_objects(variant: str) -> list[str]:
    """Compiles each firmware source with the strict flags; returns object paths."""
    cc = os.environ.get("CC", "gcc")
    out_dir = BUILD / variant
    out_dir.mkdir(parents=True, exist_ok=True)
    flags = STRICT_FLAGS + TRUST_FLAGS + VARIANT_FLAGS[variant]
    flags += [f"-I{INCLUDE}", f"-I{HOST_PORT}"]
    headers = sorted(INCLUDE.glob("*.h")) + sorted(HOST_PORT.glob("*.h"))
    headers += sorted((FIRMWARE / "src").rglob("*.h"))
    header_stamp = max((h.stat().st_mtime for h in headers), default=0.0)
    objects = []
    for src in firmware_sources(variant):
        rel = src.relative_to(FIRMWARE)
        obj = out_dir / (str(rel).replace(os.sep, "__")[:-2] + ".o")
        newest_input = max(src.stat().st_mtime, header_stamp)
        if not obj.exists() or obj.stat().st_mtime < newest_input:
            subprocess.run([cc, *flags, "-c", str(src), "-o", str(obj)], check=True)
        objects.append(str(obj))
    return objects


def make_builder(variant: str) -> FFI:
    ffi = FFI()
    headers = public_headers(variant)
    ffi.cdef(cdef_text(headers))
    includes = "\n".join(f'#include "{h.name}"' for h in headers)
    link_args = ["-fsanitize=address,undefined"] if variant == "asan" else []
    ffi.set_source(
        MODULE[variant],
        includes,
        include_dirs=[str(INCLUDE), str(HOST_PORT)],
        extra_objects=compile_objects(variant),
        extra_compile_args=VARIANT_FLAGS[variant][:1],
        extra_link_args=link_args,
    )
    return ffi


def build_in_place(variant: str) -> Path:
    """Builds one variant and copies the extension next to the wearsense package."""
    ffi = make_builder(variant)
    tmp = BUILD / f"ffi-{variant}"
    tmp.mkdir(parents=True, exist_ok=True)
    built = Path(ffi.compile(tmpdir=str(tmp), verbose=False))
    target = ROOT / "wearsense" / built.name
    base = MODULE[variant].split(".")[1]
    for stale in (ROOT / "wearsense").glob(f"{base}.*so"):
        if stale.name != built.name:
            stale.unlink()
    if not target.exists() or _digest(target) != _digest(built):
        # a new file renamed over the old one: a process that has the module loaded (a
        # training run, say) keeps its mapping instead of crashing on a rewritten file
        fresh = target.with_name(f".{target.name}.new")
        shutil.copy2(built, fresh)
        os.replace(fresh, target)
    return target


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


ffibuilder = make_builder("plain") if __name__ != "__main__" else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=["plain", "asan", "all"], default="all")
    args = parser.parse_args(argv)
    variants = ["plain", "asan"] if args.variant == "all" else [args.variant]
    for variant in variants:
        print(f"built {build_in_place(variant).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
