"""The firmware's ECG front end (firmware/src/dsp/ecg.c) called from Python.

Training, the emulator and the benchmarks preprocess ECG through this wrapper, so
they see exactly the samples, beats and quality flags the device computes.

``EcgChain`` is the streaming interface (feed blocks as they come); ``run_chain``
processes a whole recording. Raises ``EcgConfigError`` for an ADC description the
firmware rejects; C status codes are never swallowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from wearsense.firmware import core

RATE_HZ = 250
QUALITY_WINDOW = 500
LEADS_OFF, NOISY, SATURATED, FLAT = 1, 2, 4, 8  # WS_QUALITY_* of ws_protocol.h
BEAT_SEARCHBACK = 1

_STATUS_NAMES = {
    6: "bad argument",
    5: "block too long",
    7: "chain not initialised",
    96: "input rate not supported (250 / gcd(fs, 250) must be <= 32)",
    97: "invalid ADC description",
}


class EcgConfigError(ValueError):
    """The firmware refused the ECG chain's configuration or a call (``status`` is the
    C status code)."""

    def __init__(self, status: int, what: str) -> None:
        super().__init__(f"{what}: {_STATUS_NAMES.get(status, 'error')} (status {status})")
        self.status = status


@dataclass(frozen=True)
class Beats:
    """R peaks found: ``sample`` indexes the 250 Hz output stream; the detector took each
    at output sample ``sample + lag`` (``lag`` None: at its R peak)."""

    sample: npt.NDArray[np.int64]
    rr_ms: npt.NDArray[np.int64]
    amp_uv: npt.NDArray[np.int64]
    flags: npt.NDArray[np.int64]
    lag: npt.NDArray[np.int64] | None = None


@dataclass(frozen=True)
class Quality:
    """One verdict per 2 s window (``start`` in output samples)."""

    start: npt.NDArray[np.int64]
    flags: npt.NDArray[np.int64]
    beats: npt.NDArray[np.int64]


@dataclass(frozen=True)
class EcgOutput:
    signal: npt.NDArray[np.int16]  # 250 Hz, uV or normalised
    beats: Beats
    quality: Quality
    delay_s: float  # output sample k shows the input at k / 250 - delay_s

    def beat_times_s(self) -> npt.NDArray[np.float64]:
        """R peaks in seconds of the input recording."""
        return self.beats.sample / RATE_HZ - self.delay_s


class EcgChain:
    """One streaming ECG chain (one ws_ecg_t) for an ADC described by its rate, gain
    (counts per mV), zero and rails."""

    def __init__(
        self,
        fs_hz: int,
        adc_gain: float,
        adc_zero: int = 0,
        adc_min: int = -32768,
        adc_max: int = 32767,
        normalised: bool = False,
        module: ModuleType | None = None,
    ) -> None:
        self._m = module or core()
        self.ffi: Any = self._m.ffi
        self.lib: Any = self._m.lib
        size = int(self.lib.ws_ecg_state_size())
        self._buf = self.ffi.new("uint64_t[]", (size + 7) // 8)
        self._st = self.ffi.cast("ws_ecg_t *", self._buf)
        cfg = self.ffi.new("ws_ecg_config_t *")
        if not 0 < fs_hz <= 65535:
            raise EcgConfigError(96, f"fs {fs_hz} Hz")
        cfg.fs_in_hz = fs_hz
        cfg.adc_gain = adc_gain
        cfg.adc_zero = adc_zero
        cfg.adc_min = adc_min
        cfg.adc_max = adc_max
        cfg.output_mode = self.lib.WS_ECG_OUT_NORMALISED if normalised else 0
        status = int(self.lib.ws_ecg_init(self._st, cfg))
        if status:
            raise EcgConfigError(status, f"ECG chain for {fs_hz} Hz, gain {adc_gain}")
        self.delay_s = int(self.lib.ws_ecg_delay_us(self._st)) / 1e6
        self._beats = self.ffi.new("ws_ecg_beat_t[]", int(self.lib.WS_ECG_BEAT_QUEUE))
        self._quality = self.ffi.new("ws_ecg_quality_t[]", int(self.lib.WS_ECG_QUALITY_QUEUE))
        self._max_block = int(self.lib.WS_ECG_MAX_BLOCK)

    def set_leads_off(self, leads_off: bool) -> None:
        self.lib.ws_ecg_set_leads_off(self._st, int(leads_off))

    def process(
        self, samples: npt.ArrayLike
    ) -> tuple[
        npt.NDArray[np.int16], list[tuple[int, int, int, int, int]], list[tuple[int, int, int]]
    ]:
        """Feeds raw ADC samples; returns (output samples, beats as (sample, rr_ms, amp_uv,
        flags, lag), quality verdicts as (start, flags, beats)) completed by them."""
        raw = np.ascontiguousarray(samples, dtype=np.int16)
        outs: list[npt.NDArray[np.int16]] = []
        beats: list[tuple[int, int, int, int, int]] = []
        quality: list[tuple[int, int, int]] = []
        n_out = self.ffi.new("size_t *")
        for start in range(0, len(raw), self._max_block):
            block = raw[start : start + self._max_block]
            cap = int(self.lib.ws_ecg_max_output(self._st, len(block)))
            out = np.empty(max(cap, 1), dtype=np.int16)
            status = int(
                self.lib.ws_ecg_process(
                    self._st,
                    self.ffi.from_buffer("int16_t[]", block),
                    len(block),
                    self.ffi.from_buffer("int16_t[]", out),
                    cap,
                    n_out,
                )
            )
            if status:
                raise EcgConfigError(status, "ws_ecg_process")
            outs.append(out[: n_out[0]].copy())
            beats += self._drain_beats()
            quality += self._drain_quality()
        if int(self.lib.ws_ecg_dropped(self._st)):
            raise EcgConfigError(5, "beat or quality queue overflowed")
        signal = np.concatenate(outs) if outs else np.empty(0, dtype=np.int16)
        return signal, beats, quality

    def _drain_beats(self) -> list[tuple[int, int, int, int, int]]:
        n = int(self.lib.ws_ecg_read_beats(self._st, self._beats, len(self._beats)))
        return [
            (int(b.sample), int(b.rr_ms), int(b.amp_uv), int(b.flags), int(b.lag))
            for b in (self._beats[i] for i in range(n))
        ]

    def _drain_quality(self) -> list[tuple[int, int, int]]:
        n = int(self.lib.ws_ecg_read_quality(self._st, self._quality, len(self._quality)))
        return [
            (int(q.start), int(q.flags), int(q.beats)) for q in (self._quality[i] for i in range(n))
        ]


def run_chain(
    samples: npt.ArrayLike,
    fs_hz: int,
    adc_gain: float,
    adc_zero: int = 0,
    adc_min: int = -32768,
    adc_max: int = 32767,
    normalised: bool = False,
    block: int | None = None,
    module: ModuleType | None = None,
) -> EcgOutput:
    """Runs a whole recording through a fresh chain, ``block`` samples per call
    (default: the largest block the firmware takes)."""
    chain = EcgChain(fs_hz, adc_gain, adc_zero, adc_min, adc_max, normalised, module)
    raw = np.asarray(samples)
    step = block or len(raw) or 1
    signals, beats, quality = [], [], []
    for start in range(0, len(raw), step):
        s, b, q = chain.process(raw[start : start + step])
        signals.append(s)
        beats += b
        quality += q
    b_arr = np.array(beats, dtype=np.int64).reshape(-1, 5)
    q_arr = np.array(quality, dtype=np.int64).reshape(-1, 3)
    return EcgOutput(
        signal=np.concatenate(signals) if signals else np.empty(0, dtype=np.int16),
        beats=Beats(b_arr[:, 0], b_arr[:, 1], b_arr[:, 2], b_arr[:, 3], b_arr[:, 4]),
        quality=Quality(q_arr[:, 0], q_arr[:, 1], q_arr[:, 2]),
        delay_s=chain.delay_s,
    )
