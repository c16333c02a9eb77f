"""IMU front end on the real recordings: how often the impact trigger fires on fall
trials (recall) and on daily activities (triggers per hour), per dataset and sensor
position, for a sweep of thresholds; plus the front end's speed.

Every trial of every subject under the data root is run through the C front end (the
same code the device runs), with the end of each trial held still for 2 s so an impact
near the end still gets the frames after it. A fall trial counts as recalled when at
least one impact fires anywhere in it. The trigger only decides when the fall classifier
runs, so its recall bounds the detector's sensitivity; its ADL rate is how often the
classifier must run (not a false-alarm rate of the detector). Same figures as
`wearsense imu trigger`.
"""

from __future__ import annotations

from typing import Any

from wearsense.testing.imu_trigger import trigger_figures

KEY = "imu"


def run() -> dict[str, Any]:
    return trigger_figures()


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
