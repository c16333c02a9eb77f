"""One emulated wearable: the device core, the detectors and the model-update service, joined
as on the device (``firmware/include/ws_app_store.h``). The detectors run the models the A/B
model store runs, read in place from store flash; an update pushed over the model-transfer
face switches the detector's model and its events carry the new version in their header;
a rollback at boot hands the detectors the model that remains.

::

    from wearsense.emulator.updatable_device import UpdatableWearable

    dev = UpdatableWearable("WS-0001")            # blank flash, blank model store
    for package in factory_packages():            # models/<task>/*.wspkg for the placement
        dev.provision(package.read_bytes())       # through the update service's checks
    dev.feed(ecg=mv, ecg_fs=360, imu=frames, imu_fs=50)
    dev = dev.reset()                             # flash and store kept, RAM state lost

Everything :class:`~wearsense.emulator.device.Wearable` offers (feeding, button, stats)
and everything :class:`~wearsense.firmware.updatable.UpdatableDevice` offers (transfer face,
store images, power cuts) is here, except :meth:`set_model`: models come from the store.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from wearsense.emulator.device import DEFAULT_IMPACT_G, MODELS_DIR, TASKS, Wearable
from wearsense.firmware.device import DeviceCore, DeviceError
from wearsense.firmware.updatable import DEFAULT_ARENA_BYTES, PLACEMENT_CHEST, UpdatableDevice
from wearsense.protocol import Status
from wearsense.protocol.package import parse as parse_package

PLACEMENTS = {"chest": 0, "waist": 1}


@dataclasses.dataclass(frozen=True)
class StoreModels:
    """What the detectors run from the store (``ws_app_store_info_t``): per task the version
    (0 = none), models the app refused, and its verdict on the latest one."""

    running: tuple[int, int, int]
    refused: tuple[int, int, int]
    last_status: tuple[int, int, int]


def factory_packages(
    placement: int = PLACEMENT_CHEST, models_dir: str | Path | None = None
) -> list[Path]:
    """The signed package of each task under ``models_dir`` (default the repository's
    ``models/``) built for ``placement``: ``<task>/<task>-<placement>.wspkg`` when present,
    else ``<task>/<task>.wspkg`` if its header names that placement."""
    root = Path(models_dir) if models_dir is not None else MODELS_DIR
    names = {v: k for k, v in PLACEMENTS.items()}
    chosen: list[Path] = []
    for task in TASKS:
        candidates = [root / task / f"{task}-{names.get(placement, '')}.wspkg"]
        candidates.append(root / task / f"{task}.wspkg")
        for path in candidates:
            if not path.is_file():
                continue
            try:
                header = parse_package(path.read_bytes()).header
            except Exception:  # noqa: BLE001 - a broken package is simply not a candidate
                continue
            if int(header.placement) == placement:
                chosen.append(path)
                break
    return chosen


class UpdatableWearable(Wearable, UpdatableDevice):
    """The whole emulated device (see the module docstring). ``store`` is a previous
    :meth:`store_image` (``None``: a blank partition, no models until provisioned)."""

    def __init__(
        self,
        serial: str = "WS-0001",
        flash: bytes | None = None,
        *,
        store: bytes | None = None,
        placement: int = PLACEMENT_CHEST,
        arena_bytes: int = DEFAULT_ARENA_BYTES,
        impact_g: float = DEFAULT_IMPACT_G,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            serial,
            flash,
            models=None,
            impact_g=impact_g,
            store=store,
            placement=placement,
            arena_bytes=arena_bytes,
            **kwargs,
        )
        self._follow_store()

    def _follow_store(self) -> None:
        if self.update_status != Status.OK:
            return  # the store could not be mounted: no models, the detectors stay idle
        self._link = self._alloc("ws_app_store_t *", self.lib.ws_app_store_size())
        self.lib.ws_host_update_bind_app(self._update, self._platform, self._link, self._app)

    def reboot(self, *, announce: bool = True) -> Status:
        """A reset in place: the update service, the core and the detectors start over
        (the detectors from the store's running models); flash and store stay."""
        status = super().reboot(announce=announce)
        if hasattr(self, "_app"):
            _ = self.lib.ws_app_init(self._app, self._dev)
            self._ecg_cfg = None
            self._imu_cfg = None
            self._ecg_pos = self._imu_pos = 0
            self._follow_store()
        return status

    def restart_streams(self) -> None:
        """The next samples start new ECG and IMU streams at the current device time (a
        replay starting its recordings again); the detectors' state is kept."""
        self._ecg_cfg = None
        self._imu_cfg = None

    def set_model(self, task: int | str, blob: bytes, version: int) -> None:
        raise DeviceError(
            "the models of an UpdatableWearable come from its model store: push a package "
            "(provision() or the model-transfer face)"
        )

    def store_models(self) -> StoreModels:
        raw = self.ffi.new("ws_app_store_info_t *")
        if self.update_status == Status.OK:
            self.lib.ws_app_store_get_info(self._link, raw)
        return StoreModels(
            running=(raw.running[0], raw.running[1], raw.running[2]),
            refused=(raw.refused[0], raw.refused[1], raw.refused[2]),
            last_status=(raw.last_status[0], raw.last_status[1], raw.last_status[2]),
        )

    def reset(self, *, announce: bool = True) -> UpdatableWearable:
        """A new device booted on this one's flash and model store (RAM state is lost: the
        detectors start over on the store's running models; device time never goes back)."""
        return UpdatableWearable(
            self.serial,
            self.flash_image(),
            impact_g=self.impact_g,
            announce=announce,
            **self._reboot_kwargs(),
        )

    def clone(self) -> DeviceCore:
        raise DeviceError("UpdatableWearable.clone is not supported; use reset()")


STATE_FILES = ("flash", "models", "settings", "strips")  # suffixes of a saved wearable's files


def state_paths(stem: Path) -> dict[str, Path]:
    """The files a saved wearable lives in: ``<stem>.flash`` (event queue), ``.models``
    (model store) and ``.settings`` (the wearer's settings)."""
    return {kind: stem.parent / f"{stem.name}.{kind}" for kind in STATE_FILES}


def open_saved(
    serial: str, stem: Path, packages: list[Path] | None = None
) -> tuple[UpdatableWearable, list[tuple[Path, Status]]]:
    """The wearable saved under ``stem`` (`state_paths`; a missing file is a blank part);
    a blank model store gets ``packages`` (default `factory_packages`) through the update
    service's checks, whose verdicts come back beside it. DeviceError for a file of the
    wrong size."""
    images = {k: p.read_bytes() if p.exists() else None for k, p in state_paths(stem).items()}
    core = UpdatableWearable(
        serial,
        images["flash"],
        store=images["models"],
        settings=images["settings"],
        strips=images["strips"],
    )
    provisioned: list[tuple[Path, Status]] = []
    if images["models"] is None:
        for package in factory_packages() if packages is None else packages:
            provisioned.append((package, core.provision(package.read_bytes())))
    return core, provisioned


def save(core: Any, stem: Path) -> None:
    """Writes the wearable's (an `UpdatableDevice`'s) flash, model store and settings under
    ``stem``, each file atomically (a crash leaves the old one) and synced to disk."""
    import os
    import tempfile

    images = {
        "flash": core.flash_image(),
        "models": core.store_image(),
        "settings": core.settings_image(),
        "strips": core.strips_image(),
    }
    for kind, path in state_paths(stem).items():
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
        with os.fdopen(fd, "wb") as out:
            out.write(images[kind])
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
