"""`wearsense package build|sign|verify|info`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from wearsense.firmware.nn import STATUS_NAMES
from wearsense.firmware.package import FirmwarePackages
from wearsense.protocol.errors import Status
from wearsense.updates import package as pkg
from wearsense.updates.errors import KeyFileError, PackageError
from wearsense.updates.keys import (
    ENV_SIGNING_KEY,
    PublicKey,
    SigningKey,
    dev_signing_key,
    load_public_key,
    load_signing_key,
)

PACKAGE_HELP = """\
Signed model packages (docs/model-package.md): a header, the int8 .tflite aligned to 16
bytes, a self-test and an Ed25519 signature over all of it.

  build   wrap an int8 .tflite into an unsigned package (the input/output specification
          and the self-test output come from the firmware's C interpreter)
  sign    sign a package with a key (--key PATH, $WEARSENSE_SIGNING_KEY, or --dev-key)
  verify  check a package as the device does: all seven steps (bounds, hash, signature,
          task and placement, version, interpreter, self-test) in the firmware's C code,
          steps 1-5 also in Python
  info    print a package's header
"""


def _task(text: str) -> pkg.Task:
    try:
        return pkg.Task[text.upper()] if not text.isdigit() else pkg.Task(int(text))
    except (KeyError, ValueError):
        raise argparse.ArgumentTypeError(f"unknown task {text!r} (afib, fall, activity)") from None


def _placement(text: str) -> pkg.Placement:
    try:
        return pkg.Placement[text.upper()] if not text.isdigit() else pkg.Placement(int(text))
    except (KeyError, ValueError):
        names = ", ".join(p.name.lower() for p in pkg.Placement)
        raise argparse.ArgumentTypeError(f"unknown placement {text!r} ({names})") from None


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers: {text!r}") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PackageError(Status.PKG_FORMAT, f"{path}: cannot read ({exc.strerror})") from exc


def _fail(path: Path | str, exc: Exception) -> int:
    print(f"wearsense: {path}: {exc}", file=sys.stderr)
    return 1


def cmd_build(args: argparse.Namespace) -> int:
    task = args.task
    try:
        codes = tuple(pkg.class_code(task, name) for name in args.classes.split(","))
        data = pkg.build_from_tflite(
            _read(args.model),
            task=task,
            placement=args.placement,
            model_version=args.version,
            sample_rate_hz=args.sample_rate,
            class_codes=codes,
            selftest_seed=args.selftest_seed,
        )
    except PackageError as exc:
        return _fail(args.model, exc)
    args.output.write_bytes(data)
    header = pkg.parse(data).header
    print(
        f"wrote {args.output} ({len(data)} bytes; input {header.input.window_samples} x "
        f"{header.input.channels} int8; self-test output {list(header.selftest.expected)}); "
        "unsigned: run `wearsense package sign`"
    )
    return 0


def _signing_key(args: argparse.Namespace) -> SigningKey:
    return dev_signing_key() if args.dev_key else load_signing_key(args.key)


def cmd_sign(args: argparse.Namespace) -> int:
    try:
        key = _signing_key(args)
        signed = pkg.sign(_read(args.package), key)
    except (PackageError, KeyFileError) as exc:
        return _fail(args.package, exc)
    out = args.output or args.package
    out.write_bytes(signed)
    mark = " with the DEVELOPMENT key (emulator only)" if key.is_dev else ""
    print(f"signed {out} by key {key.public.key_id.hex()} ({key.name}){mark}")
    return 0


def _public_key(args: argparse.Namespace) -> PublicKey:
    if args.public_key:
        return load_public_key(args.public_key)
    return PublicKey(FirmwarePackages().trusted_key(), "firmware-trusted")


def cmd_verify(args: argparse.Namespace) -> int:
    data = b""
    try:
        data = _read(args.package)
        key = _public_key(args)
    except (PackageError, KeyFileError) as exc:
        return _fail(args.package, exc)
    expect = None
    if args.task is not None:
        if args.placement is None:
            return _fail(args.package, ValueError("--task needs --placement"))
        expect = pkg.Expectation(args.task, args.placement, args.installed_version)
    host_status = Status.OK
    try:
        package = pkg.verify(data, key, expect)
    except PackageError as exc:
        host_status = exc.status
        print(f"host verifier:     REJECTED {exc}")
    else:
        dev = " (DEV-signed)" if package.header.dev_key else ""
        print(f"host verifier:     OK{dev}")
    if expect is None:
        print("(no --task/--placement: the firmware's steps 4-7 were not run)")
        return 0 if host_status == Status.OK else 1
    fw_status, nn_status = FirmwarePackages().verify_on_interpreter(
        data, key.raw, expect.task, expect.placement, expect.installed_version
    )
    why = f" (interpreter: {STATUS_NAMES.get(nn_status, hex(nn_status))})" if nn_status else ""
    verdict = "OK" if fw_status == Status.OK else "REJECTED"
    print(f"firmware verifier: {verdict} {fw_status.name} (0x{int(fw_status):02x}){why}, steps 1-7")
    interpreter_steps = (Status.PKG_MODEL, Status.PKG_SELFTEST)
    if host_status != Status.OK and fw_status != host_status:
        print("host and firmware verifiers disagree", file=sys.stderr)
        return 1
    if host_status == Status.OK and fw_status not in (Status.OK, *interpreter_steps):
        print("host and firmware verifiers disagree", file=sys.stderr)
        return 1
    return 0 if fw_status == Status.OK else 1


def _describe(package: pkg.ModelPackage) -> dict[str, Any]:
    h = package.header
    return {
        "format_version": pkg.FORMAT_VERSION,
        "task": pkg.Task(h.task).name.lower(),
        "placement": pkg.Placement(h.placement).name.lower(),
        "model_version": h.model_version,
        "model_size": h.model_size,
        "model_sha256": h.model_sha256.hex(),
        "package_size": len(package.raw),
        "input": {
            "sample_rate_hz": h.input.sample_rate_hz,
            "window_samples": h.input.window_samples,
            "channels": h.input.channels,
            "scale": h.input.scale,
            "zero_point": h.input.zero_point,
        },
        "output": {
            "classes": [
                pkg.CLASS_ENUMS[pkg.Task(h.task)](c).name.lower()
                if c in tuple(pkg.CLASS_ENUMS[pkg.Task(h.task)])
                else c
                for c in h.output.class_codes
            ],
            "class_codes": list(h.output.class_codes),
            "scale": h.output.scale,
            "zero_point": h.output.zero_point,
        },
        "selftest": {"seed": h.selftest.seed, "expected": list(h.selftest.expected)},
        "signed": package.is_signed,
        "key_id": h.key_id.hex(),
        "development_key": h.dev_key,
    }


def cmd_info(args: argparse.Namespace) -> int:
    try:
        package = pkg.parse(_read(args.package))
    except PackageError as exc:
        return _fail(args.package, exc)
    info = _describe(package)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for key, value in info.items():
        print(f"{key:16} {value}")
    if package.header.dev_key:
        print("WARNING: signed with the DEVELOPMENT key; only an emulator trusts it")
    return 0


def _add_verify_expectation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", type=_task, help="the slot being updated (afib|fall|activity)")
    parser.add_argument("--placement", type=_placement, help="where the device is worn")
    parser.add_argument(
        "--installed-version", type=int, default=0, help="the version now in the slot (0: none)"
    )


def register(subparsers: Any) -> None:
    package = subparsers.add_parser(
        "package",
        help="build, sign, verify and inspect signed model packages",
        description=PACKAGE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = package.add_subparsers(dest="package_command", metavar="ACTION", required=True)

    build = sub.add_parser("build", help="wrap a .tflite into an unsigned package")
    build.add_argument("model", type=Path, help="the int8 .tflite")
    build.add_argument("-o", "--output", type=Path, required=True, help="package file to write")
    build.add_argument("--task", type=_task, required=True, help="afib, fall or activity")
    build.add_argument("--placement", type=_placement, required=True, help="chest, waist, ...")
    build.add_argument("--version", type=int, required=True, help="model version, 1..65535")
    build.add_argument("--sample-rate", type=int, required=True, help="input rate in Hz")
    build.add_argument(
        "--classes",
        required=True,
        help="class of each model output in order, names or protocol codes "
        "(afib: normal,af,other,noisy; fall: adl,fall; activity: walk,run,...,unknown)",
    )
    build.add_argument(
        "--selftest-seed", type=int, default=1, help="xorshift32 seed of the self-test input"
    )
    build.set_defaults(handler=cmd_build)

    sign = sub.add_parser("sign", help="sign a package (in place unless -o)")
    sign.add_argument("package", type=Path)
    sign.add_argument("-o", "--output", type=Path, help="write here instead of in place")
    who = sign.add_mutually_exclusive_group()
    who.add_argument("--key", type=Path, help=f"private key PEM (default: ${ENV_SIGNING_KEY})")
    who.add_argument(
        "--dev-key", action="store_true", help="the committed DEVELOPMENT key (emulator only)"
    )
    sign.set_defaults(handler=cmd_sign)

    verify = sub.add_parser("verify", help="verify a package as the device does")
    verify.add_argument("package", type=Path)
    verify.add_argument(
        "--public-key", type=Path, help="public key PEM (default: the firmware's trusted key)"
    )
    _add_verify_expectation(verify)
    verify.set_defaults(handler=cmd_verify)

    info = sub.add_parser("info", help="print the header of a package")
    info.add_argument("package", type=Path)
    info.add_argument("--json", action="store_true", help="machine-readable output")
    info.set_defaults(handler=cmd_info)
