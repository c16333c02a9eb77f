"""The terminal UI over a live companion (``wearsense.companion.Companion``, its session
running): what the Updates screen pushes and the Devices screen asks the wearable, said
in one line each. The companion does the work, exactly as ``wearsense update push`` and
``wearsense companion`` do; this only words its answers for the screens. Only a process
that runs a companion (``wearsense demo``) imports this module, so ``wearsense tui`` on
a store does not load the BLE stack.
"""

from __future__ import annotations

from pathlib import Path

from tui.link import ProgressCallback, PushResult
from wearsense.companion import Companion, PushError, PushFailure, PushReport
from wearsense.protocol import Status
from wearsense.updates.errors import PackageError
from wearsense.updates.package import Task
from wearsense.updates.registry import RegistryError
from wearsense.updates.transfer import UpdateError


class CompanionActions:
    """The Updates screen's ``tui.link.ModelPusher`` and the Devices screen's
    ``PostureCalibrator`` and ``Recorder`` over a companion whose session runs
    (``wearsense.companion.Companion``): the companion pushes and sends, exactly as
    ``wearsense update push`` and ``wearsense companion`` do; this says how it went, in
    one line, and never raises."""

    def __init__(self, companion: Companion) -> None:
        self.companion = companion

    async def push(self, path: str, *, force: bool, on_progress: ProgressCallback) -> PushResult:
        file = Path(path).expanduser()
        try:
            report = await self.companion.push_model(file, force=force, on_progress=on_progress)
        except (RegistryError, PackageError, ValueError) as exc:
            return PushResult(False, f"not pushed: {exc}")
        except Exception as exc:  # noqa: BLE001 - the link's errors: the UI shows, never raises
            return PushResult(False, f"push failed ({type(exc).__name__}): {exc or 'timed out'}")
        return PushResult(report.ok, push_message(report, file))

    async def calibrate_posture(self) -> PushResult:
        try:
            response = await self.companion.calibrate_posture()
        except Exception as exc:  # noqa: BLE001 - the link's errors: the UI shows, never raises
            return PushResult(False, f"calibration not sent ({type(exc).__name__}): {exc}")
        if response.status != Status.OK:
            return PushResult(
                False, f"the device refused the calibration ({Status(response.status).name})"
            )
        return PushResult(True, "calibrating: the wearer stands upright and still for about 6 s")

    async def start_recording(self, seconds: int) -> PushResult:
        try:
            response = await self.companion.start_recording(seconds)
        except Exception as exc:  # noqa: BLE001 - the link's errors: the UI shows, never raises
            return PushResult(False, f"recording not asked ({type(exc).__name__}): {exc}")
        if response.status == Status.BUSY:
            return PushResult(False, "a recording is already under way: its verdict comes first")
        if response.status != Status.OK:
            return PushResult(
                False, f"the device refused the recording ({Status(response.status).name})"
            )
        return PushResult(
            True, f"recording {seconds} s: the rhythm verdict arrives as an ECG recording event"
        )


def push_message(report: PushReport, file: Path) -> str:
    """The Updates screen's line for how a push ended."""
    outcome, exc = report.outcome, report.error
    if outcome is not None:
        task = Task(outcome.task).name.lower()
        return (
            f"{outcome.serial} runs {task} v{outcome.to_version} (was v{outcome.from_version}) "
            f"after {outcome.seconds:.1f} s; guard: {outcome.guard}"
        )
    cause = exc.cause if isinstance(exc, PushError) else exc
    if report.failure is PushFailure.UNREADABLE:
        assert isinstance(cause, OSError)
        return f"cannot read {file}: {cause.strerror or cause}"
    if report.failure is PushFailure.NOT_A_PACKAGE:
        return f"{file.name} is not a model package: {cause}"
    if report.failure is PushFailure.NOT_REGISTERED:
        return f"not pushed: {cause}"
    if report.failure is PushFailure.GUARD:
        return f"refused by the rollout guard: {cause}"
    if report.failure is PushFailure.DEVICE:
        assert isinstance(cause, UpdateError)
        return f"refused by the device ({cause.status.name}): {cause}"
    return f"push failed ({type(cause).__name__}): {cause or 'timed out'}"
