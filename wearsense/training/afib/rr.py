"""What the RR features alone give the AFib student: the co-teacher (gradient boosting,
out of fold, in the soft targets) and the RR head (a small network whose logits are added
to the trained student's at a weight chosen on the validation records)."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from wearsense.firmware.nn import NNModel
from wearsense.training.afib.config import AfibTrainConfig
from wearsense.training.afib.decision import record_scores
from wearsense.training.afib.inputs import INPUT_SCALE, LABELS, WINDOW
from wearsense.training.export import export_convnet
from wearsense.training.models import add_side_head
from wearsense.training.pipeline import int8_probabilities


def rr_co_teacher_probabilities(
    features: np.ndarray, labels: np.ndarray, owner: np.ndarray, seed: int, folds: int = 5
) -> np.ndarray:
    """The co-teacher's class probabilities for every training row: gradient boosting on
    the RR features alone (what the classical AF methods use), each row predicted by the
    model of the fold that did not see its record (out of fold, so the soft targets are
    as uncertain as on unseen records)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    x = features.astype(np.float64)
    out = np.zeros((len(x), len(LABELS)))
    for fit_rows, predict_rows in GroupKFold(n_splits=folds).split(x, labels, owner):
        model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, random_state=seed)
        model.fit(x[fit_rows], labels[fit_rows])
        probs = np.zeros((len(predict_rows), len(LABELS)))
        probs[:, model.classes_] = model.predict_proba(x[predict_rows])
        out[predict_rows] = probs
    return out


def rr_co_teacher(
    weight: float, x_train: np.ndarray, y_train: np.ndarray, owner: np.ndarray, seed: int
) -> tuple[np.ndarray, float] | None:
    """The RR co-teacher's soft targets for the training rows and their weight, or None
    when the weight is 0."""
    if weight <= 0:
        return None
    return rr_co_teacher_probabilities(x_train[:, 0, WINDOW:], y_train, owner, seed), weight


RR_HEAD_WEIGHTS = (0.25, 0.5, 0.75, 1.0)


@dataclasses.dataclass(frozen=True)
class RrHead:
    """A one-hidden-layer network on the RR features alone, in the units the model sees
    (int8 value × INPUT_SCALE): logits = w2·ReLU(w1·rr + b1) + b2."""

    w1: np.ndarray  # [hidden, RR_FEATURES]
    b1: np.ndarray
    w2: np.ndarray  # [classes, hidden]
    b2: np.ndarray


def fit_rr_head(rr: np.ndarray, labels: np.ndarray, hidden: int, seed: int) -> RrHead:
    """The RR head trained on the int8 RR features of the training windows and their
    records' labels (scikit-learn's MLP, L2 1e-2, standardised inputs; the standardisation
    is folded into ``w1`` and ``b1``). The hybrid student under-uses its RR features (it
    fits the training records' ECG almost perfectly); a model that sees only them, added
    to its logits, is a second opinion it cannot overfit away."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    if hidden < 1:
        raise ValueError("the RR head needs at least one hidden unit")
    x = rr.astype(np.float64) * INPUT_SCALE
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp = MLPClassifier((hidden,), alpha=1e-2, max_iter=500, random_state=seed)
        mlp.fit((x - mean) / scale, labels)
    if list(mlp.classes_) != list(range(len(LABELS))):
        raise ValueError("the RR head needs training windows of every class")
    first = mlp.coefs_[0] / scale[:, None]  # [features, hidden]
    return RrHead(
        w1=first.T.astype(np.float32),
        b1=(mlp.intercepts_[0] - mean @ first).astype(np.float32),
        w2=mlp.coefs_[1].T.astype(np.float32),
        b2=mlp.intercepts_[1].astype(np.float32),
    )


class HeadChoice(NamedTuple):
    """What `attach_rr_head` returns."""

    model: Any  # the fused float student with the head (ConvNet)
    tflite: bytes  # its int8 export (post-training quantized)
    weight: float  # the head's weight chosen
    scores: dict[str, float]  # F1(AF) + mean F1(N, A, O) of the validation records, per weight


def attach_rr_head(
    student: Any,
    head: RrHead,
    calibration: np.ndarray,
    val_windows: np.ndarray,
    val_owner: np.ndarray,
    val_labels: np.ndarray,
    description: str,
    weights: Iterable[float] = RR_HEAD_WEIGHTS,
) -> HeadChoice:
    """The fused float ``student`` with ``head``'s logits added at each of ``weights``
    (`models.add_side_head`), each exported int8 (``calibration``: float training rows)
    and run by the C interpreter on the int8 validation windows; returns the float model,
    the `.tflite`, the weight with the best F1(AF) + mean F1(normal, AF, other) of the
    records' decisions (a tie keeps the smaller weight) and that figure per weight. The
    int8 models here are post-training quantized: the choice is made before the
    quantization-aware fine-tuning that follows it."""
    best: tuple[float, Any, bytes, float] | None = None
    scores: dict[str, float] = {}
    for weight in sorted(weights):
        model = add_side_head(student, head.w1, head.b1, head.w2, head.b2, weight)
        _, tflite = export_convnet(model, calibration, INPUT_SCALE, description)
        probs = int8_probabilities(NNModel(tflite, "afib"), val_windows)
        f1 = record_scores(probs, val_owner, val_labels)
        score = float(f1[1] + f1[:3].mean())
        scores[f"{weight:g}"] = round(score, 4)
        if best is None or score > best[0] + 1e-9:
            best = (score, model, tflite, weight)
    if best is None:
        raise ValueError("no RR head weight to try")
    return HeadChoice(best[1], best[2], best[3], scores)


def rr_head_stage(
    student: Any,
    x_train: np.ndarray,
    y_train: np.ndarray,
    calibration: np.ndarray,
    x_val: np.ndarray,
    val_owner: np.ndarray,
    val_labels: np.ndarray,
    config: AfibTrainConfig,
) -> tuple[Any, dict[str, Any]]:
    """The fused float hybrid ``student`` with an RR head (`fit_rr_head` on the int8
    training rows ``x_train`` [N, 1, L], `attach_rr_head` on the validation rows; its int8
    trials take their activation ranges from the float ``calibration`` rows), to be
    fine-tuned quantization-aware next, and what was chosen."""
    if not student.side:
        raise ValueError("an RR head needs a hybrid student (RR features in its input)")
    head = fit_rr_head(x_train[:, 0, WINDOW:], y_train, config.rr_head, config.seed)
    model, _, weight, scores = attach_rr_head(
        student,
        head,
        calibration,
        x_val,
        val_owner,
        val_labels,
        "wearsense afib student",
    )
    info = {
        "hidden": config.rr_head,
        "seed": config.seed,
        "weight": weight,
        "validation_f1_af_plus_mean_f1_nao": scores,
    }
    return model, info
