"""Recordings as the device sees them: each dataset record run through the firmware's
ECG chain, with its labels moved onto the chain's 250 Hz output timeline. Training
calls these so that a model is trained on exactly the device's samples.

Output sample k shows the input at ``k / 250 - delay_s`` seconds; an input time t
(seconds) is output sample ``round((t + delay_s) * 250)``.
"""

from __future__ import annotations

from dataclasses import dataclass

from wearsense.datasets import cinc2017, mitdb
from wearsense.firmware.ecg import RATE_HZ, EcgOutput, run_chain


@dataclass(frozen=True)
class OutputInterval:
    """A rhythm label on the output timeline: samples ``start <= k < end``."""

    label: str
    start: int
    end: int


def to_output_sample(t_s: float, delay_s: float) -> int:
    return round((t_s + delay_s) * RATE_HZ)


def preprocess_cinc(record: cinc2017.CincRecord, normalised: bool = True) -> EcgOutput:
    return run_chain(record.signal, record.fs, record.adc_gain, record.adc_zero,
                     normalised=normalised)  # fmt: skip


def preprocess_mitdb(
    record: mitdb.MitdbRecord, lead: str = mitdb.PREFERRED_LEAD, normalised: bool = True
) -> tuple[EcgOutput, list[OutputInterval]]:
    """The chain's output for one lead, and the record's rhythm intervals on its
    timeline (clipped to the output)."""
    li = record.lead_index(lead)
    out = run_chain(
        record.signals[:, li],
        record.fs,
        record.adc_gain[li],
        record.adc_zero[li],
        adc_min=0,
        adc_max=(1 << record.adc_bits[li]) - 1,
        normalised=normalised,
    )
    n = len(out.signal)
    intervals = []
    for r in record.rhythms:
        start = min(n, max(0, to_output_sample(r.start / record.fs, out.delay_s)))
        end = min(n, max(0, to_output_sample(r.end / record.fs, out.delay_s)))
        if end > start:
            intervals.append(OutputInterval(r.label, start, end))
    return out, intervals
