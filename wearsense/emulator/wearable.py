"""An emulated wearable: the device core behind the Bumble GATT peripheral.

``EmulatedWearable`` owns the Bumble stack (on an in-process ``LocalLink`` or on a
``tcp-client:`` transport to ``wearsense.link.virtual_radio``), the peripheral and the device
core. Events come from the core's detectors on replayed recordings (``sense`` with a
:class:`~wearsense.emulator.replay.Player`); the link tests may still store events through
the core's host-only test interface (``inject``). A device reset boots a new core on the
same flash image (and model store).

The button: a short press goes to the core (the fall cancel); holding it for
``security.LONG_PRESS_S`` seconds or longer opens the pairing window instead
(``wearsense.emulator.security``), as :meth:`EmulatedWearable.press_button` does.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Protocol

from wearsense.emulator.face import DeviceFace
from wearsense.emulator.peripheral import Peripheral
from wearsense.emulator.replay import Player
from wearsense.emulator.security import LONG_PRESS_S
from wearsense.link.stack import LocalLink, Stack, open_stack


class ResettableCore(DeviceFace, Protocol):
    def inject(self, event: Any) -> int: ...

    def reset(self) -> ResettableCore: ...


def address_for(serial: str) -> str:
    """A static random address derived from the serial (top two bits set, as the spec
    requires of a static address). Only the radio uses it; identity is the serial."""
    digest = bytearray(hashlib.sha256(serial.encode()).digest()[:6])
    digest[0] |= 0xC0
    return ":".join(f"{b:02X}" for b in digest)


class EmulatedWearable:
    def __init__(self, core: ResettableCore, stack: Stack) -> None:
        self.core = core
        self.stack = stack
        self.peripheral = Peripheral(stack.device, core)

    @classmethod
    async def open(
        cls,
        core: ResettableCore,
        *,
        link: LocalLink | None = None,
        transport: str | None = None,
        keystore: Path | None = None,
        pairing_window: bool = False,
    ) -> EmulatedWearable:
        """Powers on a Bumble stack for ``core`` and starts advertising. A wearable with no
        bond in ``keystore`` accepts the first pairing (out of the box); ``pairing_window``
        opens the window anyway, as holding the button at power-on does."""
        stack = await open_stack(
            "WearSense",
            address_for(core.serial),
            link=link,
            transport=transport,
            keystore=keystore,
        )
        wearable = cls(core, stack)
        await wearable.peripheral.start(pairing_window=pairing_window)
        return wearable

    @property
    def device(self) -> Any:
        return self.stack.device

    def inject(self, event: Any) -> int:
        """An event as a detector would report it; returns its sequence number."""
        seq = self.core.inject(event)
        self.peripheral.kick()
        return seq

    def sense(self, player: Player, seconds: int) -> int:
        """Feeds ``seconds`` of the player's recordings to the detectors; whatever they
        emit is notified. Returns the seconds fed."""
        fed = player.step(self.core, seconds)  # type: ignore[arg-type]
        self.peripheral.kick()
        return fed

    def press_button(self, hold_s: float = 0.0) -> None:
        """The wearer presses the button for ``hold_s`` seconds: a long press (at least
        ``LONG_PRESS_S``) opens the pairing window, a short one goes to the core (it
        cancels a recent fall, docs/detectors.md)."""
        if hold_s >= LONG_PRESS_S:
            self.peripheral.security.open_window()
            return
        press = getattr(self.core, "press_button", None)
        if press is not None:  # a bare device core has no detectors, so no button
            press()

    async def reset(self) -> None:
        """Device reset: the link drops and a new core boots on the same flash."""
        self.core = self.core.reset()
        await self.peripheral.replace_core(self.core)

    async def drop_link(self) -> None:
        await self.peripheral.drop_link()

    async def close(self) -> None:
        await self.peripheral.stop()
        await self.stack.close()
