"""Model-package security figures (issue 11), under ``updates`` in build/bench/results.json:

- ``ed25519_crosschecks`` / ``ed25519_failures``: cases run through the firmware's
  Ed25519 verifier (plain host build) against ``cryptography``, and disagreements with
  the expected verdict (wearsense.testing.ed25519_crosscheck: valid, message bit,
  signature bit, wrong key, non-canonical S, small-order key, identity R);
- ``malicious_total`` / ``malicious_rejected``: packages fed to ``ws_pkg_verify`` with
  worst-case interpreter hooks: every byte of a valid package XOR 0xFF and XOR 0x01, every
  truncation, and one package per unacceptable condition (wearsense.testing.adversarial);
  plus every byte flip and truncation of a real-model package through all seven steps on
  the C interpreter (``ws_pkg_verify_nn``, counted separately as ``malicious_interpreter_*``);
- ``registry_untrusted_accepted`` (must be 0) of ``registry_untrusted_total``: untrusted
  or tampered packages the package registry registered (issue 29): every byte of a valid
  DEV-signed package XOR 0xFF and XOR 0x01, every truncation, the forgeries of steps 1-3
  (another key, a forged key id, a swapped model, a newer version not signed again or
  signed by another key claiming the DEV flag; wearsense.testing.adversarial.
  registry_attacks), each through ``Registry.add`` of a registry trusting the DEV key;
  ``registry_refused_by_status`` says how each was refused, and
  ``registry_genuine_accepted`` that the valid package still registers afterwards;
- ``ed25519_m4_instructions``: instructions of one verification (RFC 8032 TEST 3) on the
  Cortex-M4, from QEMU with ``-icount shift=0`` and SysTick (docs/firmware-port.md,
  "Instruction counts"), with ``ed25519_m4_stack_bytes``, the same for ``ws_pkg_check``
  of a small package (``pkg_check_m4_*``) and for all seven steps on a real-model package
  (``pkg_verify_nn_m4_*``), and the M4 code sizes of firmware/src/crypto and
  firmware/src/updates.

Model updates over BLE (issue 12, docs/model-updates.md):

- ``power_cut_trials`` / ``no_valid_model`` (must be 0) / ``power_cut_stuck``: power cuts
  of the model store's flash while each shipped model is updated (wearsense.firmware.
  update_powercut): every chunk boundary, a random cut inside every chunk, every operation
  of the switch and of UPDATE_BEGIN; at MTU 247, and at MTU 23 on every 4th chunk;
- ``transfer_s.<model>``: BEGIN..COMMIT of each shipped model (one version up) over the
  Bumble virtual link, verification included; ``payload_efficiency``: model bytes over
  the bytes the companion wrote over the air (ATT write PDUs, headers, chunk framing and
  commands included) at the negotiated MTU (247); ``modelled_transfer_s.<model>.<phy>_15ms``:
  the air-time model of wearsense.updates.transfer.modelled_transfer_s.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tqdm import tqdm

from wearsense.firmware.crypto import FirmwareCrypto
from wearsense.firmware.package import FirmwarePackages
from wearsense.testing import adversarial as adv
from wearsense.testing import ed25519_crosscheck as xc
from wearsense.testing.m4budget import QEMU
from wearsense.testing.update_powercut import UpdatePowerCuts
from wearsense.updates import package as pkg_mod
from wearsense.updates.keys import SigningKey, dev_signing_key
from wearsense.updates.transfer import modelled_transfer_s

KEY = "updates"
ROOT = Path(__file__).resolve().parents[1]
CROSSCHECKS = 14_000  # 2 000 per kind
MALICIOUS_MODEL_SIZE = 8_000
M4_ELF = "build/ctest/m4/test_crypto.elf"
M4_PKG_ELF = "build/ctest/m4/test_pkg.elf"


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


def _registry() -> dict[str, Any]:
    from wearsense.updates.registry import Registry

    key = dev_signing_key()
    other = SigningKey(Ed25519PrivateKey.from_private_bytes(bytes(range(32))), "bench-other")
    valid = adv.sample_package(key, MALICIOUS_MODEL_SIZE)
    total = 3 * len(valid)
    with (
        tempfile.TemporaryDirectory() as tmp,
        Registry(Path(tmp) / "updates.db", trusted_keys=[key.public]) as registry,
    ):
        started = time.perf_counter()
        result = adv.run_registry(
            registry,
            valid,
            key,
            other,
            flip_masks=(0xFF, 0x01),
            progress=lambda it: tqdm(it, total=total, desc="registry: untrusted packages"),
        )
        elapsed = time.perf_counter() - started
        registered = len(registry.packages())
        genuine = adv.registry_accepts(registry, valid)
    for name in result.accepted[:10]:
        print(f"  REGISTERED: {name}")
    return {
        "registry_untrusted_accepted": len(result.accepted),
        "registry_untrusted_total": result.total,
        "registry_untrusted_recorded": registered,
        "registry_refused_by_status": dict(result.by_status),
        "registry_genuine_accepted": genuine,
        "registry_check_seconds": round(elapsed, 2),
    }


def _m4_size(directory: str) -> int | None:
    # the objects of today's sources only: a renamed source leaves its old object behind
    sources = sorted((ROOT / "firmware/src" / directory).glob("*.c"))
    objects = [ROOT / "build/ctest/m4/core" / directory / f"{s.stem}.o" for s in sources]
    if not objects or not all(o.exists() for o in objects):
        return None
    if not shutil.which("arm-none-eabi-size"):
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


def _shipped_packages() -> list[Path]:
    """Each task's shipped package for the emulated device's placement (chest)."""
    from wearsense.emulator.updatable_device import factory_packages

    return factory_packages(models_dir=ROOT / "models")


def _bumped(data: bytes) -> bytes:
    """The shipped package one version up, DEV-signed: what an update would push."""
    raw = bytearray(data)
    raw[8:10] = (int.from_bytes(raw[8:10], "little") + 1).to_bytes(2, "little")
    return pkg_mod.sign(bytes(raw), dev_signing_key())


def _power_cuts() -> dict[str, Any]:
    """Every chunk boundary, a random cut inside every chunk, every operation of the
    switch (several tear positions) and of UPDATE_BEGIN, for every shipped model; at MTU
    247 and, with every 4th chunk, at the default MTU 23 (14-byte chunks)."""
    totals: dict[str, int] = {
        "trials": 0, "boundary": 0, "mid_chunk": 0, "switch": 0, "begin": 0,
        "no_valid_model": 0, "stuck": 0, "nor": 0, "old": 0, "new": 0,
    }  # fmt: skip
    failures: list[str] = []
    for path in _shipped_packages():
        old = path.read_bytes()
        new = _bumped(old)
        task = old[5]
        for mtu, chunks in ((247, None), (23, range(0, 10_000, 4))):
            campaign = UpdatePowerCuts(old, new, task=task, mtu=mtu)
            result = campaign.run(
                chunks=chunks,
                progress=lambda it, name=path.parent.name, m=mtu: tqdm(
                    it, desc=f"update power cuts {name} MTU {m}"
                ),
            )
            totals["trials"] += result.trials
            totals["boundary"] += result.boundary_trials
            totals["mid_chunk"] += result.mid_chunk_trials
            totals["switch"] += result.switch_trials
            totals["begin"] += result.begin_trials
            totals["no_valid_model"] += result.no_valid_model
            totals["stuck"] += result.stuck
            totals["nor"] += result.nor_violations
            totals["old"] += result.booted_old
            totals["new"] += result.booted_new
            failures += result.failures[:5]
    return {
        "power_cut_trials": totals["trials"],
        "power_cut_boundary_trials": totals["boundary"],
        "power_cut_mid_chunk_trials": totals["mid_chunk"],
        "power_cut_switch_trials": totals["switch"],
        "power_cut_begin_trials": totals["begin"],
        "no_valid_model": totals["no_valid_model"],
        "power_cut_stuck": totals["stuck"],
        "power_cut_nor_violations": totals["nor"],
        "power_cut_booted_old": totals["old"],
        "power_cut_booted_new": totals["new"],
        "power_cut_failures": failures,
    }


async def _transfer_over_link(old: bytes, new: bytes, workdir: Path) -> tuple[float, Any, int]:
    from wearsense.firmware.updatable import UpdatableDevice
    from wearsense.store import Store
    from wearsense.testing.loopback import Loopback
    from wearsense.updates.transfer import SessionTransport, TransferStats, upload

    dev = UpdatableDevice("WS-BENCH-OTA")
    dev.provision(old)
    loop = await Loopback.open(dev, workdir)
    store = Store(workdir / "bench.db")
    session = loop.session(store)
    runner = asyncio.create_task(session.run())
    try:
        await session.wait_streaming(20)
        stats = TransferStats()
        version = int.from_bytes(new[8:10], "little")
        started = time.perf_counter()
        async for _ in upload(SessionTransport(session), new, task=new[5], version=version,
                              stats=stats):  # fmt: skip
            pass
        elapsed = time.perf_counter() - started
        if dev.model_version(new[5]) != version:
            raise RuntimeError("the pushed model did not switch in")
        return elapsed, stats, session.mtu
    finally:
        await session.stop()
        await runner
        store.close()
        await loop.close()


def _transfers() -> dict[str, Any]:
    """Each shipped model pushed over the Bumble virtual link (LocalLink, in process):
    wall time BEGIN..COMMIT (verification included), bytes written over the air, and the
    modelled air time at 1M and 2M PHY for a 15 ms connection interval."""
    out: dict[str, Any] = {}
    model_bytes = att_bytes = 0
    for path in _shipped_packages():
        old = path.read_bytes()
        new = _bumped(old)
        with tempfile.TemporaryDirectory() as tmp:
            elapsed, stats, mtu = asyncio.run(_transfer_over_link(old, new, Path(tmp)))
        name = path.parent.name
        out[f"transfer_s.{name}"] = round(elapsed, 4)
        out[f"transfer_att_bytes.{name}"] = stats.att_bytes
        out[f"transfer_package_bytes.{name}"] = len(new)
        for phy in ("1M", "2M"):
            out[f"modelled_transfer_s.{name}.{phy}_15ms"] = modelled_transfer_s(
                len(new), phy=phy, interval_ms=15.0, mtu=mtu
            )
        out["negotiated_mtu"] = mtu
        model_bytes += pkg_mod.parse(new).header.model_size
        att_bytes += stats.att_bytes
    if att_bytes:
        out["payload_efficiency"] = round(model_bytes / att_bytes, 4)
    return out


def run() -> dict[str, Any]:
    results: dict[str, Any] = {}
    results.update(_m4())
    results.update(_crosscheck())
    results.update(_malicious())
    results.update(_registry())
    results.update(_transfers())
    results.update(_power_cuts())
    return results
