"""Replay: the held-out test records and subjects of MIT-BIH, SisFall, UMAFall and
UCI-HAPT through the device core as fast as it goes (`wearsense replay`), with the
event-level results and the replay speed. The event rates per hour it stores feed the
energy budget (docs/budget.md)."""

from __future__ import annotations

import time
from typing import Any

from wearsense.replay import sources
from wearsense.replay.device import factory_models, open_session_factory
from wearsense.replay.runner import Scorer
from wearsense.replay.runner import run as replay

KEY = "replay"
# IMU trials end soon after the fall; the same hold as `wearsense replay --hold`'s
# documented benchmark setting (docs/replay.md).
IMU_HOLD_S = 0.0


def _recordings() -> Any:
    yield from sources.mitdb_recordings("test")
    for name in sources.IMU_DATASETS:
        yield from sources.imu_recordings(name, "test")


def run() -> dict[str, Any]:
    started = time.perf_counter()
    summary = replay(_recordings(), open_session_factory(), scorer=Scorer(), imu_hold_s=IMU_HOLD_S)
    out: dict[str, Any] = {"wall_s": round(time.perf_counter() - started, 1)}
    rep = summary["replay"]
    out["signal_hours"] = rep["signal_hours"]
    out["speed_x_realtime"] = rep["speed_x_realtime"]
    out["events"] = rep["events"]
    out["events_per_s"] = rep["events_per_wall_s"]
    af = summary.get("mitdb", {})
    for key in (
        "records",
        "episodes",
        "episodes_detected",
        "onset_delay_s_median",
        "onset_delay_s_max",
        "af_time_sensitivity",
        "af_time_specificity",
        "false_episodes",
        "false_episodes_per_hour",
        "flutter_time_called_af",
    ):
        out[f"af_{key}" if not key.startswith("af_") else key] = af.get(key)
    for name in ("sisfall", "umafall"):
        falls = summary.get(name, {})
        for key in (
            "fall_trials",
            "falls_detected",
            "falls_multiple",
            "fall_sensitivity",
            "fall_delay_s_median",
            "adl_hours",
            "adl_false_alarms",
            "false_alarms_per_hour",
        ):
            out[f"{name}_{key}"] = falls.get(key)
    act = summary.get("uci-hapt", {})
    out["uci_hapt_agreement"] = act.get("agreement")
    out["uci_hapt_balanced_agreement"] = act.get("balanced_agreement")
    out["uci_hapt_agreement_after_5s_grace"] = act.get("agreement_after_5s_grace")
    out["uci_hapt_agreement_per_class"] = {
        k: v["agreement"] for k, v in act.get("per_class", {}).items()
    }
    # the UCI HAPT sessions again with the companion's posture calibration at each
    # session's first standing (docs/imu-front-end.md)
    calibrated = replay(
        sources.imu_recordings("uci-hapt", "test"),
        open_session_factory(),
        scorer=Scorer(),
        calibrate_posture=True,
    ).get("uci-hapt", {})
    out["uci_hapt_agreement_calibrated"] = calibrated.get("agreement")
    out["uci_hapt_agreement_after_5s_grace_calibrated"] = calibrated.get("agreement_after_5s_grace")
    out["uci_hapt_agreement_per_class_calibrated"] = {
        k: v["agreement"] for k, v in calibrated.get("per_class", {}).items()
    }
    # every MIT-BIH record here (the AFib model never saw MIT-BIH: it was trained on CinC
    # 2017), as a second, larger AF figure next to the two test records
    every = replay(sources.mitdb_recordings("all"), open_session_factory(), scorer=Scorer()).get(
        "mitdb", {}
    )
    for key in (
        "records",
        "episodes",
        "episodes_detected",
        "onset_delay_s_median",
        "af_time_sensitivity",
        "af_time_specificity",
        "false_episodes_per_hour",
        "flutter_time_called_af",
    ):
        out[f"mitdb_all_{key}"] = every.get(key)
    out["models"] = factory_models()
    out["event_rates_per_hour"] = {
        "ecg": summary.get("mitdb", {}).get("events_per_hour", {}),
        "imu": act.get("events_per_hour", {}),
    }
    return out
