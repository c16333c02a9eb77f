"""The model-update chain end to end (issue 12, item 3) on the whole emulated wearable:
an int8 .tflite -> `wearsense package build` -> `wearsense package sign --dev-key` -> pushed
from the terminal UI's Updates screen (path, Push, progress bar, outcome), which runs the
companion's rollout (guard, transfer, confirmation) over BLE (Bumble LocalLink) -> the
device's STATUS page 1, stored by the companion, shows the new version -> the AF events its
detector then finds on replayed real ECG (MIT-BIH 219 sample) carry that version in their
header, as stored."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

from textual.widgets import DataTable, Input, ProgressBar, Static
from update_helpers import versioned

from tui.app import WearSenseApp
from tui.companion import CompanionActions
from wearsense.cli import main
from wearsense.companion import Companion
from wearsense.emulator.replay import SAMPLES, Player, load
from wearsense.emulator.updatable_device import UpdatableWearable
from wearsense.protocol import Status
from wearsense.store import Store
from wearsense.updates.registry import Registry

ROOT = Path(__file__).resolve().parents[1]
AFIB_DIR = ROOT / "models" / "afib"
SERIAL = "WS-00E2EUPD"


def test_package_sign_push_from_the_tui_and_the_events_carry_the_new_version(
    tmp_path: Path,
) -> None:
    from wearsense.testing.loopback import Loopback
    from wearsense.updates.rollout import ModelStatusWatcher

    v2 = tmp_path / "afib-v2.wspkg"
    build = ["package", "build", str(AFIB_DIR / "afib.tflite"), "-o", str(v2), "--task", "afib"]
    build += ["--placement", "chest", "--version", "2", "--sample-rate", "125"]
    assert main([*build, "--classes", "normal,af,other,noisy"]) == 0
    assert main(["package", "sign", str(v2), "--dev-key"]) == 0
    package = v2.read_bytes()
    v1 = versioned(1)  # the device starts on the shipped model as version 1
    recordings = load(SAMPLES)

    async def scenario() -> None:
        core = UpdatableWearable(SERIAL)
        assert core.provision(v1) == Status.OK
        loop = await Loopback.open(core, tmp_path)
        store = Store(tmp_path / "companion.db")
        store.add_patient("p-upd", "UTC")
        store.assign(SERIAL, "p-upd", start_utc=time.time() - 60)
        watcher = ModelStatusWatcher()
        session = loop.session(store, on_stored=watcher.on_stored)
        runner = asyncio.create_task(session.run())
        shipped = json.loads((AFIB_DIR / "metrics.json").read_text())
        with Registry(tmp_path / "updates.db") as registry:
            registry.add(v1, metrics=shipped)
        better = {**shipped, "macro_f1": shipped["macro_f1"] + 0.01}
        (tmp_path / "metrics.json").write_text(json.dumps(better))  # beside the package
        companion = Companion(store, session, watcher, registry_path=tmp_path / "updates.db")
        pusher = CompanionActions(companion)
        app = WearSenseApp(tmp_path / "companion.db", None, poll_s=0, pusher=pusher)
        try:
            await watcher.wait(SERIAL, lambda page: page.afib_version == 1, 20)
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.press("4")
                app.screen.query_one("#push-path", Input).value = str(v2)
                await pilot.pause()
                await pilot.click("#push-button")
                outcome = app.screen.query_one("#push-outcome", Static)
                deadline = asyncio.get_running_loop().time() + 30
                while not (outcome.has_class("ok") or outcome.has_class("failed")):
                    assert asyncio.get_running_loop().time() < deadline, "push did not end"
                    await asyncio.sleep(0.05)
                assert outcome.has_class("ok"), str(outcome.render())
                assert f"{SERIAL} runs afib v2 (was v1)" in str(outcome.render())
                bar = app.screen.query_one("#push-progress", ProgressBar)
                assert (bar.progress, bar.total) == (len(package), len(package))
                await pilot.pause(0.2)
                history = app.screen.query_one("#history", DataTable)
                steps = [history.get_row_at(i)[4] for i in range(history.row_count)]
                assert "committed" in steps  # the rollout's steps, from the store
            # STATUS page 1 as the companion stored it.
            assert watcher.latest[SERIAL].afib_version == 2
            assert core.store_models().running[0] == 2
            # The detector now runs v2 on replayed ECG: sinus, then AF.
            player = Player(recordings, loop=False)
            loop.wearable.sense(player, 120)

            def stored_af() -> list:
                return [e for e in store.events(include_unplaced=True, types=["af_start"])]

            deadline = asyncio.get_running_loop().time() + 20
            while not stored_af():
                assert asyncio.get_running_loop().time() < deadline, "no AF_START stored"
                await asyncio.sleep(0.05)
            assert [e.model_version for e in stored_af()] == [2]
            # An on-demand recording asked as the TUI's Devices screen asks it (key e).
            first = await pusher.start_recording(10)
            assert first.ok, first.message
            again = await pusher.start_recording(10)  # no ECG since: still pending
            assert not again.ok and "already under way" in again.message
            assert loop.wearable.sense(player, 25) == 25  # the next window and one more

            def stored_recordings() -> list:
                return list(store.events(include_unplaced=True, types=["ecg_recording"]))

            deadline = asyncio.get_running_loop().time() + 20
            while not stored_recordings():
                assert asyncio.get_running_loop().time() < deadline, "no ECG_RECORDING stored"
                await asyncio.sleep(0.05)
            (recording,) = stored_recordings()
            assert recording.model_version == 2 and recording.fields["duration_s"] == 10
        finally:
            await session.stop()
            await runner
            store.close()
            await loop.close()

    asyncio.run(asyncio.wait_for(scenario(), 90))
