"""A day of events: how many of each kind the device queues in a day. The energy budget
reads the typical day (``wearsense.budget.inputs``) and the queue-capacity measurement
(``wearsense.testing.capacity``, ``wearsense device capacity``) runs both days through
the C core."""

from __future__ import annotations

import dataclasses

DAY_S = 86_400


@dataclasses.dataclass(frozen=True)
class DayProfile:
    """Events per day of each kind (summaries every ``summary_min`` minutes)."""

    name: str
    summary_min: int = 15
    activity_changes: int = 40
    signal_quality: int = 6
    af_episodes: int = 0
    falls: int = 0
    ecg_recordings: int = 0
    time_syncs: int = 1  # each queues STATUS pages 0, 1, 2

    def events_per_day(self) -> int:
        summaries = 2 * (24 * 60 // self.summary_min) + 24  # HR + rhythm, hourly activity
        return (
            summaries
            + self.activity_changes
            + self.signal_quality
            + 2 * self.af_episodes
            + 2 * self.falls
            + self.ecg_recordings
            + 3 * self.time_syncs
        )


TYPICAL_DAY = DayProfile("typical")
BUSY_DAY = DayProfile(
    "busy",
    activity_changes=200,
    signal_quality=60,
    af_episodes=10,
    falls=2,
    ecg_recordings=5,
    time_syncs=4,
)
