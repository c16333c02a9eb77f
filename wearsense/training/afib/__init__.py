"""The AFib task: data from the ECG front end (the firmware's C chain, called through
`wearsense.firmware`), a teacher and a distilled int8 student, and evaluation of the
shipped int8 model as the C interpreter runs it.

Input: 10.24 s of ECG at 125 Hz as int8 (`ws_afib_input_s8` over the chain's normalised
output; float value = q / 64), followed in a hybrid model by 16 int8 features of the RR
intervals of the chain's beat detector over the 20.48 s before the window's end
(`ws_afib_rr_features`). Output: probabilities of the protocol's rhythm classes
normal, af, other, noisy (codes 0..3). A record's class is the argmax of the mean
probability over its windows (hop 5.12 s) the front end did not flag leads-off, flat or
saturated, exactly as the device judges an on-demand recording (`record_class`).

One module per job, bottom to top: ``inputs`` (windows, RR features, the quality gate),
``decision`` (a record's class from its windows), ``config`` (the run's settings and nets),
``splits`` (which records train, validate and test), ``offsets`` (class offsets tuned on
validation), ``rr`` (the RR co-teacher and the RR head), ``train`` (training, the RR head
on a saved student, the Pareto sweep) and ``evaluate`` (CinC records and MIT-BIH Holter
records). This package names their public parts.
"""

from wearsense.training.afib.config import AfibTrainConfig, nets
from wearsense.training.afib.decision import (
    OTHER_PEAK,
    mean_probabilities,
    probabilities,
    record_class,
    record_decisions,
    record_scores,
    record_verdict,
)
from wearsense.training.afib.evaluate import evaluate_afib, evaluate_mitdb
from wearsense.training.afib.inputs import (
    CINC_CLASS,
    FLUTTER,
    HOP,
    INPUT_SCALE,
    LABELS,
    QUALITY_WINDOW,
    RR_FEATURES,
    UNSEEN_FLAGS,
    WINDOW,
    EcgInput,
    MitdbWindows,
    afib_input,
    mitdb_windows,
    model_inputs,
    model_length,
    model_window,
    record_input,
    record_sequence,
    recording_for,
    rr_features,
    seen_windows,
    signal_length,
    to_float,
    windows,
)
from wearsense.training.afib.offsets import OFFSET_GRID, choose_class_offsets, tune_class_offsets
from wearsense.training.afib.rr import (
    RR_HEAD_WEIGHTS,
    HeadChoice,
    RrHead,
    attach_rr_head,
    fit_rr_head,
    rr_co_teacher_probabilities,
    rr_head_stage,
)
from wearsense.training.afib.splits import (
    MITDB_SPLITS,
    SPLITS,
    RecordSet,
    Rows,
    held_out_records,
    load_records,
    load_split_ids,
    mitdb_train_ids,
    mitdb_training_rows,
    unseen,
)
from wearsense.training.afib.train import add_rr_head, pareto_afib, train_afib

__all__ = [
    "CINC_CLASS",
    "FLUTTER",
    "HOP",
    "INPUT_SCALE",
    "LABELS",
    "MITDB_SPLITS",
    "OFFSET_GRID",
    "OTHER_PEAK",
    "QUALITY_WINDOW",
    "RR_FEATURES",
    "RR_HEAD_WEIGHTS",
    "SPLITS",
    "UNSEEN_FLAGS",
    "WINDOW",
    "AfibTrainConfig",
    "EcgInput",
    "HeadChoice",
    "MitdbWindows",
    "RecordSet",
    "Rows",
    "RrHead",
    "add_rr_head",
    "afib_input",
    "attach_rr_head",
    "choose_class_offsets",
    "evaluate_afib",
    "evaluate_mitdb",
    "fit_rr_head",
    "held_out_records",
    "load_records",
    "load_split_ids",
    "mean_probabilities",
    "mitdb_train_ids",
    "mitdb_training_rows",
    "mitdb_windows",
    "model_inputs",
    "model_length",
    "model_window",
    "nets",
    "pareto_afib",
    "probabilities",
    "record_class",
    "record_decisions",
    "record_input",
    "record_scores",
    "record_sequence",
    "record_verdict",
    "recording_for",
    "rr_co_teacher_probabilities",
    "rr_features",
    "rr_head_stage",
    "seen_windows",
    "signal_length",
    "to_float",
    "train_afib",
    "tune_class_offsets",
    "unseen",
    "windows",
]
