"""The energy budget of a day: inference, radio (connection events, advertising, the
bytes they carry) and sleep, for events only against streaming the raw signals.

Every current comes from a profile file (``profiles/<name>.json``) where each value
names its document and table and says whether we read it there (``verified``) or
could not (``assumption``). The link-layer arithmetic follows the Bluetooth Core
Specification; docs/budget.md writes each formula out.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

PROFILE_DIR = Path(__file__).with_name("profiles")
DAY_S = 86_400.0

# Bluetooth Core Specification v5.x, Vol 6 Part B 2.1 (packet format) and 2.4 (data PDU):
ACCESS_ADDRESS_B = 4
LL_HEADER_B = 2
CRC_B = 3
MIC_B = 4  # encrypted link, on every non-empty data PDU (Vol 6 Part E)
PREAMBLE_B = {"1M": 1, "2M": 2}
US_PER_BYTE = {"1M": 8.0, "2M": 4.0}
T_IFS_US = 150.0  # Vol 6 Part B 4.1.1
WINDOW_WIDENING_FIXED_US = 16.0  # Vol 6 Part B 4.5.7
L2CAP_HEADER_B = 4  # Vol 3 Part A 3.1 (basic header: length, channel id)
ATT_NOTIFY_HEADER_B = 3  # Vol 3 Part F 3.4.7.1 (opcode, attribute handle)
ATT_WRITE_HEADER_B = 3  # Vol 3 Part F 3.4.5.1 (Write Request: opcode, handle)
ATT_WRITE_RSP_B = 1  # Vol 3 Part F 3.4.5.2
ADV_HEADER_B = 2
ADV_ADDRESS_B = 6  # AdvA of ADV_IND (Vol 6 Part B 2.3.1.1)
LL_DEFAULT_PAYLOAD_B = 27
LL_DLE_PAYLOAD_B = 251  # LE Data Length Extension (Vol 6 Part B 5.1.9, data length update)


class BudgetError(Exception):
    """A profile file or an input figure is missing or impossible; the message says which."""


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    part: str
    values: dict[str, dict[str, Any]]
    documents: dict[str, str]

    def __getitem__(self, key: str) -> float:
        return float(self.values[key]["value"])

    def assumptions(self) -> list[str]:
        return sorted(k for k, v in self.values.items() if v.get("status") != "verified")


REQUIRED = (
    "supply_v",
    "cpu_active_ma",
    "sleep_ua",
    "radio_tx_ma",
    "radio_rx_ma",
    "radio_ramp_us",
    "event_overhead_us",
    "sleep_clock_ppm",
    "cell_mah",
)


def load_profile(name_or_path: str = "nrf52840") -> Profile:
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{name_or_path}.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BudgetError(f"{path}: cannot read the power profile ({exc})") from exc
    values = data.get("values") if isinstance(data, dict) else None
    if not isinstance(values, dict):
        raise BudgetError(f"{path}: no 'values' table")
    for key in REQUIRED:
        entry = values.get(key)
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("value"), int | float)
            or entry["value"] < 0
            or not entry.get("source")
        ):
            raise BudgetError(f"{path}: '{key}' needs a non-negative value and a source")
    return Profile(
        str(data.get("name", path.stem)),
        str(data.get("part", "")),
        values,
        dict(data.get("documents", {})),
    )


@dataclasses.dataclass(frozen=True)
class Link:
    """How the device talks: PHY, ATT MTU, data length, intervals (all stated)."""

    phy: str = "1M"
    att_mtu: int = 247
    ll_payload: int = LL_DLE_PAYLOAD_B
    conn_interval_s: float = 1.0
    connected_hours: float = 23.0
    adv_interval_s: float = 1.0
    adv_data_b: int = 31
    encrypted: bool = True

    def check(self) -> None:
        if self.phy not in PREAMBLE_B:
            raise BudgetError(f"PHY must be one of {sorted(PREAMBLE_B)}")
        if not 23 <= self.att_mtu <= 517:
            raise BudgetError("ATT MTU must be 23..517")
        if not LL_DEFAULT_PAYLOAD_B <= self.ll_payload <= LL_DLE_PAYLOAD_B:
            raise BudgetError("link-layer payload must be 27..251 bytes")
        if not 0.0075 <= self.conn_interval_s <= 4.0:
            raise BudgetError("connection interval must be 7.5 ms..4 s")
        if not 0.02 <= self.adv_interval_s <= 10.24:
            raise BudgetError("advertising interval must be 20 ms..10.24 s")
        if not 0 <= self.connected_hours <= 24:
            raise BudgetError("connected hours must be 0..24")
        if not 0 <= self.adv_data_b <= 31:
            raise BudgetError("advertising data is 0..31 bytes (legacy advertising)")


def pdu_air_bytes(payload_b: int, link: Link) -> int:
    """Bytes on air of one data-channel PDU carrying ``payload_b`` bytes of LL payload:
    preamble + access address + header + payload (+ MIC when encrypted and non-empty)
    + CRC."""
    mic = MIC_B if (link.encrypted and payload_b > 0) else 0
    return PREAMBLE_B[link.phy] + ACCESS_ADDRESS_B + LL_HEADER_B + payload_b + mic + CRC_B


def l2cap_pdus(att_pdu_b: int, link: Link) -> list[int]:
    """LL payload sizes that carry one ATT PDU (L2CAP basic header added, fragmented)."""
    total = att_pdu_b + L2CAP_HEADER_B
    full, rest = divmod(total, link.ll_payload)
    return [link.ll_payload] * full + ([rest] if rest else [])


def notification_pdus(value_b: int, link: Link) -> list[int]:
    if value_b > link.att_mtu - ATT_NOTIFY_HEADER_B:
        raise BudgetError(f"a {value_b}-byte value does not fit ATT MTU {link.att_mtu}")
    return l2cap_pdus(ATT_NOTIFY_HEADER_B + value_b, link)


@dataclasses.dataclass
class Charge:
    """Charge in coulombs and radio bytes of one kind of activity."""

    coulombs: float = 0.0
    air_bytes: float = 0.0
    active_s: float = 0.0  # time not asleep

    def add(self, other: Charge, times: float = 1.0) -> None:
        self.coulombs += other.coulombs * times
        self.air_bytes += other.air_bytes * times
        self.active_s += other.active_s * times


def connection_event(
    profile: Profile, link: Link, tx_payloads: list[int], rx_payloads: list[int] | None = None
) -> Charge:
    """One connection event of the peripheral. The central opens it (its PDUs carry
    ``rx_payloads``, empty when not given), the peripheral answers each; the exchange
    continues while either side has data. Radio time: receive ramp-up + window widening
    + every PDU received at the RX current; every PDU sent and the T_IFS before it at the
    TX current; T_IFS before a received PDU at the RX current; plus the fixed per-event
    overhead at the CPU current."""
    rx = list(rx_payloads or [])
    tx = list(tx_payloads)
    pairs = max(1, len(tx), len(rx))
    rx += [0] * (pairs - len(rx))
    tx += [0] * (pairs - len(tx))
    us = US_PER_BYTE[link.phy]
    widening = (
        2 * profile["sleep_clock_ppm"] * 1e-6 * link.conn_interval_s * 1e6
        + WINDOW_WIDENING_FIXED_US
    )
    t_rx = profile["radio_ramp_us"] + widening + (pairs - 1) * T_IFS_US
    t_tx = pairs * T_IFS_US
    air = 0
    for r, t in zip(rx, tx, strict=True):
        air += pdu_air_bytes(r, link) + pdu_air_bytes(t, link)
        t_rx += pdu_air_bytes(r, link) * us
        t_tx += pdu_air_bytes(t, link) * us
    overhead = profile["event_overhead_us"]
    coulombs = 1e-9 * (
        t_rx * profile["radio_rx_ma"]
        + t_tx * profile["radio_tx_ma"]
        + overhead * profile["cpu_active_ma"]
    )
    return Charge(coulombs, air, 1e-6 * (t_rx + t_tx + overhead))


def advertising_event(profile: Profile, link: Link) -> Charge:
    """One legacy connectable advertising event: ADV_IND on channels 37, 38 and 39, each
    followed by T_IFS plus one access-address time of listening for a scan or connect
    request."""
    us = US_PER_BYTE[link.phy]
    adv_pdu = (
        PREAMBLE_B["1M"] + ACCESS_ADDRESS_B + ADV_HEADER_B + ADV_ADDRESS_B + link.adv_data_b + CRC_B
    )  # advertising is always on the 1M PHY (legacy)
    listen_us = T_IFS_US + (PREAMBLE_B["1M"] + ACCESS_ADDRESS_B) * 8.0
    t_tx = 3 * (profile["radio_ramp_us"] + adv_pdu * 8.0)
    t_rx = 3 * (profile["radio_ramp_us"] + listen_us)
    del us
    overhead = profile["event_overhead_us"]
    coulombs = 1e-9 * (
        t_tx * profile["radio_tx_ma"]
        + t_rx * profile["radio_rx_ma"]
        + overhead * profile["cpu_active_ma"]
    )
    return Charge(coulombs, 3 * adv_pdu, 1e-6 * (t_tx + t_rx + overhead))


@dataclasses.dataclass(frozen=True)
class Streams:
    """Raw signals a streaming device would send instead of events (stated formats)."""

    ecg_hz: float = 250.0
    ecg_bytes_per_sample: int = 2  # one lead, 16-bit
    imu_hz: float = 50.0
    imu_bytes_per_sample: int = 12  # 6 axes x 16-bit

    def bytes_per_s(self) -> float:
        return self.ecg_hz * self.ecg_bytes_per_sample + self.imu_hz * self.imu_bytes_per_sample


def radio_day(
    profile: Profile, link: Link, event_sizes_per_day: dict[int, float], *, ack: bool = True
) -> dict[str, Any]:
    """Radio of an events-only day. Each event is one notification; events are rare
    enough (minutes apart) that each rides in its own connection event and the host
    acknowledges it with one ATT Write Request (6-byte ACK) in the next event, answered
    by a Write Response. ``event_sizes_per_day`` maps packet size (bytes) to count."""
    link.check()
    events = sum(event_sizes_per_day.values())
    conn_events = link.connected_hours * 3600.0 / link.conn_interval_s
    adv_events = (24.0 - link.connected_hours) * 3600.0 / link.adv_interval_s
    idle = connection_event(profile, link, [])
    total = Charge()
    total.add(idle, max(0.0, conn_events - events * (2 if ack else 1)))
    for size, count in event_sizes_per_day.items():
        total.add(connection_event(profile, link, notification_pdus(size, link)), count)
        if ack:
            write = l2cap_pdus(ATT_WRITE_HEADER_B + 6, link)
            rsp = l2cap_pdus(ATT_WRITE_RSP_B, link)
            total.add(connection_event(profile, link, rsp, write), count)
    adv = advertising_event(profile, link)
    total.add(adv, adv_events)
    payload = sum(size * count for size, count in event_sizes_per_day.items())
    return {
        "events_per_day": round(events, 1),
        "event_bytes_per_day": round(payload, 1),
        "connection_events_per_day": round(conn_events),
        "advertising_events_per_day": round(adv_events),
        "bytes_on_air_per_day": round(total.air_bytes),
        "coulombs_per_day": total.coulombs,
        "active_s_per_day": total.active_s,
        "idle_connection_event_uc": round(idle.coulombs * 1e6, 3),
        "advertising_event_uc": round(adv.coulombs * 1e6, 3),
    }


def streaming_day(profile: Profile, link: Link, streams: Streams) -> dict[str, Any]:
    """Radio of a day streaming the raw signals: the bytes of one connection interval
    are packed into full notifications of ATT MTU - 3 bytes, all sent in that event.
    No application acknowledgement (a stream is not kept for resending)."""
    link.check()
    per_event_b = streams.bytes_per_s() * link.conn_interval_s
    value_b = link.att_mtu - ATT_NOTIFY_HEADER_B
    full, rest = divmod(per_event_b, value_b)
    pdus: list[int] = []
    for _ in range(int(full)):
        pdus += notification_pdus(value_b, link)
    if rest >= 1:
        pdus += notification_pdus(math.ceil(rest), link)
    conn_events = link.connected_hours * 3600.0 / link.conn_interval_s
    total = Charge()
    total.add(connection_event(profile, link, pdus), conn_events)
    adv_events = (24.0 - link.connected_hours) * 3600.0 / link.adv_interval_s
    total.add(advertising_event(profile, link), adv_events)
    return {
        "raw_bytes_per_s": streams.bytes_per_s(),
        "signal_bytes_per_day": round(streams.bytes_per_s() * link.connected_hours * 3600.0),
        "connection_events_per_day": round(conn_events),
        "advertising_events_per_day": round(adv_events),
        "pdus_per_connection_event": len(pdus),
        "bytes_on_air_per_day": round(total.air_bytes),
        "coulombs_per_day": total.coulombs,
        "active_s_per_day": total.active_s,
    }


def inference_day(
    profile: Profile, instructions_per_s: float, cpi: float, clock_hz: float
) -> dict[str, Any]:
    """CPU time and charge of a day of detectors: cycles = instructions x CPI."""
    if instructions_per_s < 0 or cpi <= 0 or clock_hz <= 0:
        raise BudgetError("instructions per second, CPI and clock must be positive")
    active_s = instructions_per_s * cpi / clock_hz * DAY_S
    return {
        "instructions_per_s": round(instructions_per_s),
        "duty": instructions_per_s * cpi / clock_hz,
        "active_s_per_day": active_s,
        "coulombs_per_day": active_s * profile["cpu_active_ma"] * 1e-3,
    }


def day_budget(
    profile: Profile,
    link: Link,
    *,
    instructions_per_s: float,
    event_sizes_per_day: dict[int, float],
    streams: Streams | None = None,
    stream_link: Link | None = None,
    cpi: float = 1.0,
    clock_hz: float = 64e6,
    cell_mah: float | None = None,
) -> dict[str, Any]:
    """Both scenarios: events only (detectors on the device) and raw streaming (no
    inference on the device). Sleep fills the rest of the day in both."""
    streams = streams or Streams()
    cell = profile["cell_mah"] if cell_mah is None else cell_mah
    if cell <= 0:
        raise BudgetError("cell capacity must be positive")
    inference = inference_day(profile, instructions_per_s, cpi, clock_hz)
    radio = radio_day(profile, link, event_sizes_per_day)
    raw = streaming_day(profile, stream_link or link, streams)
    out: dict[str, Any] = {}
    for name, parts in (("events_only", (inference, radio)), ("streaming", (raw,))):
        active = sum(p["active_s_per_day"] for p in parts)
        if active > DAY_S:
            raise BudgetError(f"{name}: more than a day of active time")
        sleep_c = (DAY_S - active) * profile["sleep_ua"] * 1e-6
        coulombs = sum(p["coulombs_per_day"] for p in parts) + sleep_c
        mah = coulombs / 3.6
        out[name] = {
            "inference_mah": round(parts[0]["coulombs_per_day"] / 3.6, 4)
            if name == "events_only"
            else 0.0,
            "radio_mah": round(
                (radio if name == "events_only" else raw)["coulombs_per_day"] / 3.6, 4
            ),
            "sleep_mah": round(sleep_c / 3.6, 4),
            "total_mah_per_day": round(mah, 4),
            "average_ua": round(coulombs / DAY_S * 1e6, 2),
            "energy_mj_per_day": round(coulombs * profile["supply_v"] * 1e3, 1),
            "battery_days": round(cell / mah, 1),
        }
    return {
        "profile": profile.name,
        "assumptions": profile.assumptions(),
        "cell_mah": cell,
        "cpi": cpi,
        "clock_hz": clock_hz,
        "link": dataclasses.asdict(link),
        "stream_link": dataclasses.asdict(stream_link or link),
        "streams": dataclasses.asdict(streams),
        "inference": {
            k: (round(v, 6) if isinstance(v, float) else v) for k, v in inference.items()
        },
        "radio_events": radio,
        "radio_streaming": raw,
        "events_only": out["events_only"],
        "streaming": out["streaming"],
        "bytes_on_air_per_day": radio["bytes_on_air_per_day"],
        "raw_bytes_per_day": raw["bytes_on_air_per_day"],
        "battery_days": out["events_only"]["battery_days"],
    }
