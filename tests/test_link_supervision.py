"""Link supervision (docs/link.md): a companion process killed with SIGKILL (no
disconnection sent) must not strand the emulated wearable. Real processes on loopback:
`wearsense emulate` (which starts the virtual controllers) and `wearsense companion`."""

from __future__ import annotations

from pathlib import Path

from wearsense.testing import kill9

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "samples" / "data"


def test_a_killed_companion_leaves_the_device_advertising_and_nothing_lost(
    tmp_path: Path,
) -> None:
    # Today's Bumble controllers kept the dead central's link forever: the next companion
    # never found the device (recovered 0). With supervision the device drops the link
    # after the supervision timeout (720 ms, what the central asked for) and advertises.
    report = kill9.run(tmp_path, 2, data_dir=SAMPLE_DATA, recover_timeout_s=20.0)
    assert report.trials == 2
    assert report.recovered == 2, report
    assert all(s < 15.0 for s in report.recover_s), report
    assert report.lost == 0 and report.duplicated == 0, report
    assert report.acked_seq >= 3 and report.stored >= report.acked_seq, report
