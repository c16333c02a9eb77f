"""ECG front end on the shared real data: QRS detection on every MIT-BIH record
present (AAMI EC57: 150 ms window, test period from 5 min), and the signal-quality
flags against the CinC 2017 "noisy" label. Keys read by automated checks:
qrs_sensitivity, qrs_ppv, noisy_flagged, clean_flagged (m4_instructions_per_s is
added once the Cortex-M4 harness exists)."""

from __future__ import annotations

import time
from typing import Any

from wearsense.datasets import mitdb
from wearsense.datasets.splits import load_split
from wearsense.ecg.qrs import detect_record, gross, score_record
from wearsense.ecg.quality import score_cinc

KEY = "ecg"


def run() -> dict[str, Any]:
    per_record: dict[str, Any] = {}
    scores, whole = [], []
    split = {r: p for p, ids in load_split("mitdb").items() for r in ids}
    chain_s = signal_s = 0.0
    for rid in mitdb.record_ids():
        rec = mitdb.load_record(rid)
        started = time.perf_counter()
        out = detect_record(rec)
        chain_s += time.perf_counter() - started
        signal_s += rec.n_samples / rec.fs
        s = score_record(rec, out)
        scores.append(s)
        whole.append(score_record(rec, out, start_s=0.0))
        per_record[rid] = {
            "sensitivity": round(s.sensitivity, 5),
            "ppv": round(s.ppv, 5),
            "tp": s.tp,
            "fn": s.fn,
            "fp": s.fp,
            "lead": rec.lead_names[rec.lead_index()],
            "split": split.get(rid, "?"),
        }
    total, total_whole = gross(scores), gross(whole)
    test = gross(s for s in scores if split.get(s.record) == "test")
    cinc = score_cinc()
    cinc_test = score_cinc(("test",))
    return {
        "qrs_sensitivity": round(total.sensitivity, 5),
        "qrs_ppv": round(total.ppv, 5),
        "qrs_records": len(scores),
        "qrs_beats": total.tp + total.fn,
        "qrs_whole_record_sensitivity": round(total_whole.sensitivity, 5),
        "qrs_whole_record_ppv": round(total_whole.ppv, 5),
        "qrs_test_split_sensitivity": round(test.sensitivity, 5),
        "qrs_test_split_ppv": round(test.ppv, 5),
        "qrs_per_record": per_record,
        "noisy_flagged": round(cinc.noisy_flagged, 4),
        "clean_flagged": round(cinc.clean_flagged, 4),
        "cinc_noisy_records": cinc.n_noisy,
        "cinc_clean_records": cinc.n_clean,
        "test_split_noisy_flagged": round(cinc_test.noisy_flagged, 4),
        "test_split_clean_flagged": round(cinc_test.clean_flagged, 4),
        "host_realtime_factor": round(signal_s / chain_s, 1),
    }
