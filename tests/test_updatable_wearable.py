"""One emulated device: the detectors run what the A/B model store runs
(firmware/src/app/app_store.c via UpdatableWearable). Replays the repository's MIT-BIH 219
excerpt (sinus, then AF from ~23 s): no model -> no detection; a provisioned model -> AF
events with its version; an update -> the next events carry the new version; reset and
rollback keep the detectors on the store's running model."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from update_helpers import SHIPPED_AFIB as SHIPPED
from update_helpers import versioned

from wearsense.datasets import mitdb
from wearsense.emulator.updatable_device import UpdatableWearable, factory_packages
from wearsense.firmware.device import DeviceError
from wearsense.firmware.updatable import STORE_PAGE_SIZE
from wearsense.protocol import AfStart, Status, StatusModels
from wearsense.updates import package as pkg
from wearsense.updates.transfer import DeviceTransport, push

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples" / "data"
AFIB = 0


@pytest.fixture(scope="module")
def ecg_mv() -> np.ndarray:
    rec = mitdb.load_record("219", SAMPLES)
    lead = rec.lead_index()
    return (rec.signals[:, lead].astype(np.float32) - rec.adc_zero[lead]) / rec.adc_gain[lead]


def af_starts(dev: UpdatableWearable) -> list[AfStart]:
    return [e for e in dev.detections() if isinstance(e, AfStart)]


def test_the_detectors_run_the_store_model_and_follow_an_update(ecg_mv: np.ndarray) -> None:
    dev = UpdatableWearable("WS-UW1")
    assert dev.store_models().running == (0, 0, 0)
    dev.feed_ecg(ecg_mv[: 60 * 360], 360)
    assert dev.detections() == []  # an empty store: no model, the detector does not run
    assert dev.stats().af_runs == 0

    assert dev.provision(versioned(1)) == Status.OK
    assert dev.store_models().running[AFIB] == 1 and dev.info().model_versions[0] == 1
    dev.feed_ecg(ecg_mv[60 * 360 : 120 * 360], 360)
    first = af_starts(dev)
    assert len(first) == 1 and first[0].model_version == 1
    with pytest.raises(DeviceError, match="model store"):
        dev.set_model("afib", b"x", 9)

    # An update through the model-transfer face switches the detector's model.
    asyncio.run(push(DeviceTransport(dev), versioned(2), task=AFIB, version=2))
    assert dev.store_models().running[AFIB] == 2 and dev.model_version(AFIB) == 2
    pages = [e for e in dev.events() if isinstance(e, StatusModels)]
    assert pages[-1].afib_version == 2
    # A reset (RAM lost: the episode starts again) runs the store's v2.
    dev = dev.reset()
    assert dev.store_models().running[AFIB] == 2
    dev.feed_ecg(ecg_mv[120 * 360 :], 360)
    after = af_starts(dev)
    assert len(after) == 2 and after[-1].model_version == 2
    assert after[-1].time_s > first[0].time_s


def test_a_rollback_at_boot_hands_the_detectors_the_remaining_model(ecg_mv: np.ndarray) -> None:
    dev = UpdatableWearable("WS-UW2")
    assert dev.provision(versioned(1)) == Status.OK
    asyncio.run(push(DeviceTransport(dev), versioned(2), task=AFIB, version=2))
    running = dev.active_model(AFIB)
    assert running is not None and running.version == 2
    image = bytearray(dev.store_image())
    data_start = (1 + 10) * STORE_PAGE_SIZE if running.slot == 1 else STORE_PAGE_SIZE
    image[data_start + 128 + 4000] ^= 0x10  # one bit of v2's model flips in flash
    rebooted = UpdatableWearable("WS-UW2", dev.flash_image(), store=bytes(image))
    assert rebooted.rolled_back(AFIB) == 1
    assert rebooted.store_models().running[AFIB] == 1
    rebooted.feed_ecg(ecg_mv[: 90 * 360], 360)
    starts = af_starts(rebooted)
    assert len(starts) == 1 and starts[0].model_version == 1


def test_a_reboot_in_place_restarts_the_detectors_on_the_store(ecg_mv: np.ndarray) -> None:
    dev = UpdatableWearable("WS-UW3")
    assert dev.provision(versioned(1)) == Status.OK
    dev.feed_ecg(ecg_mv[: 20 * 360], 360)
    assert dev.reboot() == Status.OK
    assert dev.stats().ecg_samples == 0 and dev.store_models().running[AFIB] == 1
    dev.feed_ecg(ecg_mv[20 * 360 :], 360)
    starts = af_starts(dev)
    assert len(starts) == 1 and starts[0].model_version == 1


def test_factory_packages_match_the_placement() -> None:
    for path in factory_packages(0):
        assert pkg.parse(path.read_bytes()).header.placement == 0
    assert SHIPPED in factory_packages(0)
    assert SHIPPED not in factory_packages(1)  # the shipped AFib package is for the chest


def test_the_emulator_resets_the_whole_device_and_replays_on(tmp_path: Path) -> None:
    """EmulatedWearable.reset (as the link soak does) boots a new UpdatableWearable on the
    same flash and store; the player goes on feeding it and its detector still runs."""
    from wearsense.emulator.replay import SAMPLES as SAMPLE_DIR
    from wearsense.emulator.replay import Player, load
    from wearsense.testing.loopback import Loopback

    async def scenario() -> None:
        core = UpdatableWearable("WS-UW4")
        assert core.provision(versioned(1)) == Status.OK
        loop = await Loopback.open(core, tmp_path)
        try:
            player = Player(load(SAMPLE_DIR), loop=False)
            assert loop.wearable.sense(player, 20) == 20
            epoch = core.info().epoch
            await loop.wearable.reset()
            again = loop.wearable.core
            assert isinstance(again, UpdatableWearable) and again is not core
            assert again.info().epoch == epoch and again.info().boot_count == 2
            assert again.store_models().running[AFIB] == 1
            assert again.stats().ecg_samples == 0  # RAM state is lost
            assert loop.wearable.sense(player, 200) == 160  # the rest of the 180 s pass
            starts = af_starts(again)
            assert len(starts) == 1 and starts[0].model_version == 1
            assert starts[0].time_s >= 20  # the device clock never went back
        finally:
            await loop.close()

    asyncio.run(asyncio.wait_for(scenario(), 60))
