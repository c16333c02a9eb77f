"""`wearsense budget`: link-layer arithmetic, the day's charge, inputs and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wearsense.budget import inputs, model
from wearsense.budget.model import BudgetError, Link, Streams
from wearsense.cli import main


@pytest.fixture(scope="module")
def profile() -> model.Profile:
    return model.load_profile()


def test_profile_cites_every_value(profile: model.Profile) -> None:
    for key in model.REQUIRED:
        entry = profile.values[key]
        assert entry["source"] and entry["status"] in ("verified", "assumption")
    assert profile["radio_tx_ma"] == 6.40 and profile.values["radio_tx_ma"]["status"] == "verified"
    assert "sleep_ua" in profile.assumptions()


def test_bad_profile_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text(json.dumps({"values": {"supply_v": {"value": 3, "source": "x"}}}))
    with pytest.raises(BudgetError, match="cpu_active_ma"):
        model.load_profile(str(bad))
    with pytest.raises(BudgetError, match="cannot read"):
        model.load_profile(str(tmp_path / "missing.json"))


def test_pdu_sizes_follow_the_core_spec() -> None:
    link = Link()
    # empty PDU: preamble 1 + access address 4 + header 2 + CRC 3, no MIC
    assert model.pdu_air_bytes(0, link) == 10
    # a 20-byte event as a notification: ATT 3 + L2CAP 4 = 27 bytes of LL payload + MIC
    assert model.notification_pdus(20, link) == [27]
    assert model.pdu_air_bytes(27, link) == 10 + 27 + 4
    assert model.pdu_air_bytes(27, Link(phy="2M")) == 11 + 27 + 4
    # 244-byte value at MTU 247: one 251-byte PDU with DLE, ten (9 x 27 + 8) without
    assert model.notification_pdus(244, link) == [251]
    assert model.notification_pdus(244, Link(ll_payload=27)) == [27] * 9 + [8]
    with pytest.raises(BudgetError):
        model.notification_pdus(100, Link(att_mtu=23))


def test_connection_event_charge_grows_with_data(profile: model.Profile) -> None:
    link = Link()
    idle = model.connection_event(profile, link, [])
    busy = model.connection_event(profile, link, [27])
    two = model.connection_event(profile, link, [27, 27])
    assert 0 < idle.coulombs < busy.coulombs < two.coulombs
    # one more 27-byte PDU costs its air time at TX + an empty central PDU at RX + 2 T_IFS
    extra_us_tx = 150 + (10 + 27 + 4) * 8
    extra_us_rx = 150 + 10 * 8
    expected = 1e-9 * (extra_us_tx * 6.40 + extra_us_rx * 6.26)
    assert two.coulombs - busy.coulombs == pytest.approx(expected, rel=1e-6)
    # a longer interval widens the receive window
    slow = model.connection_event(profile, Link(conn_interval_s=4.0), [])
    assert slow.coulombs > idle.coulombs


def test_day_budget_events_beat_streaming(profile: model.Profile) -> None:
    link = Link()
    budget = model.day_budget(
        profile, link, instructions_per_s=1e6, event_sizes_per_day={17: 100, 20: 50}
    )
    ev, st = budget["events_only"], budget["streaming"]
    assert budget["raw_bytes_per_day"] > 40 * budget["bytes_on_air_per_day"]
    assert ev["radio_mah"] < st["radio_mah"]
    assert ev["inference_mah"] == pytest.approx(1e6 / 64e6 * 86400 * 3.3e-3 / 3.6, rel=1e-3)
    total = ev["inference_mah"] + ev["radio_mah"] + ev["sleep_mah"]
    assert ev["total_mah_per_day"] == pytest.approx(total, abs=2e-4)
    assert ev["battery_days"] == pytest.approx(225 / ev["total_mah_per_day"], rel=1e-2)
    # raw bytes: 1100 B/s of signal for 23 h, plus overheads
    assert budget["radio_streaming"]["signal_bytes_per_day"] == 1100 * 23 * 3600
    assert budget["raw_bytes_per_day"] > 1100 * 23 * 3600


def test_more_inference_costs_more(profile: model.Profile) -> None:
    sizes = {17: 100}
    low = model.day_budget(profile, Link(), instructions_per_s=1e5, event_sizes_per_day=sizes)
    high = model.day_budget(profile, Link(), instructions_per_s=2e6, event_sizes_per_day=sizes)
    assert high["battery_days"] < low["battery_days"]
    assert high["inference"]["duty"] == pytest.approx(2e6 / 64e6)


def test_link_checks() -> None:
    for bad in (Link(phy="3M"), Link(att_mtu=10), Link(conn_interval_s=5), Link(ll_payload=300)):
        with pytest.raises(BudgetError):
            bad.check()
    assert Streams().bytes_per_s() == 250 * 2 + 50 * 12


def test_inputs_prefer_measured_figures() -> None:
    results = {
        # per-detector figures include their front end: the total is not their sum
        "device": {"instructions_per_s": {"afib": 500000, "fall": 20000, "total": 510000}},
        "interpreter": {"models": {"afib": {"m4_instructions": 5_000_000}}},
        "replay": {"event_rates_per_hour": {"ecg": {"hr_summary": 4}, "imu": {"fall": 0.5}}},
    }
    per, source = inputs.instructions_per_s(results)
    assert per["total"] == 510000.0 and "measured" in source
    per, _ = inputs.instructions_per_s(results, {"fall": 30000.0})
    assert per["total"] == 520000.0 and per["fall"] == 30000.0
    per, _ = inputs.instructions_per_s({"interpreter": results["interpreter"]})
    assert per["total"] == pytest.approx(5_000_000 / 5.12)
    fallback = {"interpreter": results["interpreter"], "ecg": {"m4_instructions_per_s": 2e5}}
    per, source = inputs.instructions_per_s(fallback)
    assert per["total"] == pytest.approx(5_000_000 / 5.12 + 2e5)
    assert "fall and activity" in source
    per, source = inputs.instructions_per_s({}, {"total": 123.0})
    assert per == {"total": 123.0} and "overridden" in source
    with pytest.raises(BudgetError):
        inputs.instructions_per_s({})
    sizes, source = inputs.events_per_day(results)
    assert sizes == {17: 96.0, 16: 12.0} and "replay" in source
    sizes, source = inputs.events_per_day({})
    assert sum(sizes.values()) == 265 and "typical" in source
    scaled, _ = inputs.events_per_day({}, 530)
    assert sum(scaled.values()) == pytest.approx(530)


def test_cli_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"device": {"instructions_per_s": 640000}}))
    out = tmp_path / "budget.json"
    code = main(["budget", "--results", str(results), "--json", str(out), "--cell-mah", "100"])
    assert code == 0
    text = capsys.readouterr().out
    assert "battery (days)" in text and "duty 1.000 %" in text
    data = json.loads(out.read_text())
    assert data["cell_mah"] == 100 and data["inference"]["duty"] == pytest.approx(0.01)
    assert data["sources"]["radio_rx_ma"]["status"] == "verified"
    assert main(["budget", "--results", str(results), "--instructions", "afib"]) == 1
    assert "DETECTOR=PER_SECOND" in capsys.readouterr().err
