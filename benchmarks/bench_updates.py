"""Model-package security figures (issue 11), under ``updates`` in build/bench/results.json:

- ``ed25519_crosschecks`` / ``ed25519_failures``: cases run through the firmware's
  Ed25519 verifier (plain host build) against ``cryptography``, and disagreements with
  the expected verdict (wearsense.firmware.ed25519_crosscheck: valid, message bit,
  signature bit, wrong key, non-canonical S, small-order key, identity R);
- ``malicious_total`` / ``malicious_rejected``: packages fed to ``ws_pkg_verify`` with
  worst-case interpreter hooks: every byte of a valid package XOR 0xFF and XOR 0x01, every
  truncation, and one package per unacceptable condition (wearsense.updates.adversarial);
  plus every byte flip and truncation of a real-model package through all seven steps on
  the C interpreter (``ws_pkg_verify_nn``, counted separately as ``malicious_interpreter_*``);
- ``ed25519_m4_instructions``: instructions of one verification (RFC 8032 TEST 3) on the
  Cortex-M4, from QEMU with ``-icount shift=0`` and SysTick (docs/firmware-port.md,
  "Instruction counts"), with ``ed25519_m4_stack_bytes``, the same for ``ws_pkg_check``
  of a small package (``pkg_check_m4_*``) and for all seven steps on a real-model package
  (``pkg_verify_nn_m4_*``), and the M4 code sizes of firmware/src/crypto and
  firmware/src/updates.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tqdm import tqdm

from wearsense.firmware import ed25519_crosscheck as xc
from wearsense.firmware.crypto import FirmwareCrypto
from wearsense.firmware.package import FirmwarePackages
from wearsense.updates import adversarial as adv
from wearsense.updates.keys import SigningKey, dev_signing_key

KEY = "updates"
ROOT = Path(__file__).resolve().parents[1]
CROSSCHECKS = 14_000  # 2 000 per kind
MALICIOUS_MODEL_SIZE = 8_000
M4_ELF = "build/ctest/m4/test_crypto.elf"
M4_PKG_ELF = "build/ctest/m4/test_pkg.elf"
QEMU = [
    "qemu-system-arm", "-M", "mps2-an386", "-cpu", "cortex-m4", "-nographic", "-monitor",
    "none", "-serial", "none", "-semihosting-config", "enable=on,target=native",
    "-icount", "shift=0",
]  # fmt: skip


def _crosscheck() -> dict[str, Any]:
    crypto = FirmwareCrypto()
    started = time.perf_counter()
    result = xc.crosscheck(
        crypto.ed25519_verify,
        CROSSCHECKS,
        seed=20261125,
        progress=lambda it: tqdm(it, total=CROSSCHECKS, desc="ed25519 cross-check"),
    )
    elapsed = time.perf_counter() - started
    for case in result.failed_cases:
        print(f"  FAILED {case.kind}: sig={case.signature.hex()} key={case.public_key.hex()}")
    return {
        "ed25519_crosschecks": result.total,
        "ed25519_failures": result.failures,
        "ed25519_crosscheck_kinds": dict(result.by_kind),
        "ed25519_accepted_by_kind": dict(result.accepted_by_kind),
        "ed25519_reference_accepts_small_order_key": result.reference_accepts_small_order_key,
        "ed25519_crosscheck_seconds": round(elapsed, 2),
    }


def _malicious() -> dict[str, Any]:
    key = dev_signing_key()
    other = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))), "bench-other")
    fw = FirmwarePackages()
    valid = adv.sample_package(key, MALICIOUS_MODEL_SIZE)
    total = 3 * len(valid)
    result = adv.run_malicious(
        fw,
        valid,
        key,
        other,
        flip_masks=(0xFF, 0x01),
        progress=lambda it: tqdm(it, total=total, desc="malicious packages"),
    )
    real = adv.example_package(key)
    on_nn = adv.run_malicious_on_interpreter(
        fw,
        real,
        key,
        progress=lambda it: tqdm(it, total=2 * len(real), desc="... on the interpreter"),
    )
    for name in result.accepted[:10] + result.wrong_status[:10] + on_nn.accepted[:10]:
        print(f"  NOT AS EXPECTED: {name}")
    return {
        "malicious_total": result.total + on_nn.total,
        "malicious_rejected": result.rejected + on_nn.rejected,
        "malicious_wrong_status": len(result.wrong_status),
        "malicious_package_bytes": len(valid),
        "malicious_by_status": dict(result.by_status),
        "malicious_interpreter_total": on_nn.total,
        "malicious_interpreter_rejected": on_nn.rejected,
        "malicious_interpreter_package_bytes": len(real),
    }


def _m4_size(directory: str) -> int | None:
    objects = sorted((ROOT / "build/ctest/m4/core" / directory).glob("*.o"))
    if not objects or not shutil.which("arm-none-eabi-size"):
        return None
    out = subprocess.run(
        ["arm-none-eabi-size", "-B", *map(str, objects)], capture_output=True, text=True
    ).stdout
    return sum(int(line.split()[0]) for line in out.splitlines()[1:] if line.strip())


def _m4_ticks(elf: str) -> tuple[float, str]:
    """Runs one M4 test image under -icount; (instructions per SysTick tick, output)."""
    run = subprocess.run(
        [*QEMU, "-kernel", elf], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    text = run.stdout + run.stderr
    if run.returncode != 0:
        raise RuntimeError(f"M4 test {elf} failed:\n{text}")
    calibration = re.search(r"calibration=(\d+) instructions=(\d+)", text)
    if not calibration:
        raise RuntimeError(f"no WS-M4-TICKS calibration line in:\n{text}")
    return int(calibration.group(2)) / int(calibration.group(1)), text


def _m4() -> dict[str, Any]:
    if not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")):
        print("  no ARM toolchain or QEMU: skipping the M4 figures (make toolchain)")
        return {"ed25519_m4_instructions": None}
    subprocess.run(["make", "-s", M4_ELF, M4_PKG_ELF], cwd=ROOT, check=True)
    per_tick, text = _m4_ticks(M4_ELF)
    verify = re.search(r"ed25519_verify=(\d+) stack_used=(\d+)", text)
    pkg_per_tick, pkg_text = _m4_ticks(M4_PKG_ELF)
    check = re.search(r"pkg_check=(\d+) bytes=(\d+) stack_used=(\d+)", pkg_text)
    full = re.search(r"pkg_verify_nn=(\d+) bytes=(\d+)", pkg_text)
    if not verify or not check or not full:
        raise RuntimeError(f"no WS-M4-TICKS measurement in:\n{text}\n{pkg_text}")
    return {
        "ed25519_m4_instructions": round(int(verify.group(1)) * per_tick),
        "ed25519_m4_instructions_per_systick": per_tick,
        "ed25519_m4_stack_bytes": int(verify.group(2)),
        "pkg_check_m4_instructions": round(int(check.group(1)) * pkg_per_tick),
        "pkg_check_m4_package_bytes": int(check.group(2)),
        "pkg_check_m4_stack_bytes": int(check.group(3)),
        "pkg_verify_nn_m4_instructions": round(int(full.group(1)) * pkg_per_tick),
        "pkg_verify_nn_m4_package_bytes": int(full.group(2)),
        "crypto_m4_text_bytes": _m4_size("crypto"),
        "pkg_m4_text_bytes": _m4_size("updates"),
    }


def run() -> dict[str, Any]:
    results: dict[str, Any] = {}
    results.update(_m4())
    results.update(_crosscheck())
    results.update(_malicious())
    return results
