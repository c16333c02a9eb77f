"""The whole firmware on the emulated Cortex-M4: the replay image (firmware/replay,
mk/detect.mk) runs the device core, the detectors and the shipped models on real
recordings embedded at build time (MIT-BIH 221, a SisFall fall trial) and must produce the
same event packets as the native build of the same image and as the Python binding fed
the same samples."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from wearsense import protocol
from wearsense.datasets import DatasetError
from wearsense.datasets.common import data_root
from wearsense.emulator.device import Wearable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

try:
    DATA = data_root()
except DatasetError:  # pragma: no cover
    DATA = None

pytestmark = [
    pytest.mark.skipif(DATA is None, reason="shared data root not present"),
    pytest.mark.skipif(
        not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")),
        reason="no ARM toolchain or QEMU (make toolchain)",
    ),
]

QEMU = [
    "qemu-system-arm", "-M", "mps2-an386", "-cpu", "cortex-m4", "-nographic",
    "-monitor", "none", "-serial", "none", "-semihosting-config", "enable=on,target=native",
]  # fmt: skip


def _events(text: str) -> list[bytes]:
    return [
        bytes.fromhex(line.split()[1]) for line in text.splitlines() if line.startswith("WS-EV ")
    ]


@pytest.fixture(scope="module")
def replay() -> dict[str, str]:
    subprocess.run(["make", "-s", "replay-image"], cwd=ROOT, check=True, capture_output=True)
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", UBSAN_OPTIONS="halt_on_error=1")
    host = subprocess.run(
        ["build/replay/host/replay"], cwd=ROOT, capture_output=True, text=True, env=env, timeout=300
    )
    assert host.returncode == 0, host.stdout + host.stderr
    m4 = subprocess.run(
        [*QEMU, "-kernel", "build/replay/m4/replay.elf"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert m4.returncode == 0, m4.stdout + m4.stderr
    return {"host": host.stdout, "m4": m4.stdout + m4.stderr}


def test_m4_and_host_emit_the_same_events(replay: dict[str, str]) -> None:
    m4, host = _events(replay["m4"]), _events(replay["host"])
    assert "WS-REPLAY done" in replay["m4"]
    assert m4 == host
    decoded = [protocol.decode(p) for p in m4]
    assert any(isinstance(e, protocol.AfStart) for e in decoded)  # 60 s of AF in the image


def test_m4_matches_the_python_binding(replay: dict[str, str]) -> None:
    from make_replay_image import replay_inputs

    inputs = replay_inputs()
    dev = Wearable("WS-REPLAY", models={t: m for t, m in inputs.models.items()})
    scale = np.array([inputs.acc_scale] * 3 + [inputs.gyro_scale] * 3, dtype=np.float32)
    dev.feed(
        ecg=inputs.ecg,
        ecg_fs=inputs.ecg_fs,
        imu=inputs.imu.astype(np.float32) * scale,
        imu_fs=inputs.imu_fs,
        adc_gain=inputs.ecg_gain,
        adc_zero=inputs.ecg_zero,
    )
    skip = (protocol.StatusDevice, protocol.StatusModels, protocol.StatusFirmware)
    m4 = [e for e in map(protocol.decode, _events(replay["m4"])) if not isinstance(e, skip)]
    assert m4 == dev.detections()
    if 1 in inputs.models:  # the image's SisFall trial is a fall
        assert sum(isinstance(e, protocol.Fall) for e in m4) == 1
