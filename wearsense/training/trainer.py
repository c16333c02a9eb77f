"""One training loop for every task: seeded, with a progress bar, class-balanced loss,
model selection on validation macro-F1, optional distillation from a teacher, and
optional quantization-aware fine-tuning of the fused student."""

from __future__ import annotations

import copy
import dataclasses
import random
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from wearsense.training.distill import distillation_loss
from wearsense.training.metrics import confusion, per_class_from_confusion


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    epochs: int = 30
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-4
    seed: int = 0
    temperature: float = 4.0
    alpha: float = 0.7
    patience: int = 8
    # class weights are (inverse class frequency) ** class_balance: 0 none, 1 full balance
    class_balance: float = 0.5
    augment: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None = None
    device: str = "cpu"  # torch device the model trains on; it is handed back on the CPU


@dataclasses.dataclass
class FitResult:
    model: nn.Module
    best_epoch: int
    best_val_macro_f1: float
    history: list[dict[str, float]]


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def predict_logits(
    model: nn.Module, x: np.ndarray, batch_size: int = 256, device: str | None = None
) -> np.ndarray:
    """Logits of ``model`` for float inputs ``x``, computed on ``device`` (default: where
    the model is); the model is left where it was."""
    model.eval()
    first = next(model.parameters(), None)
    home = first.device if first is not None else torch.device("cpu")
    run_on = torch.device(device) if device is not None else home
    model.to(run_on)
    out = []
    with torch.no_grad():
        for start in range(0, len(x), batch_size):
            batch = torch.from_numpy(x[start : start + batch_size]).to(run_on)
            out.append(model(batch).cpu().numpy())
    model.to(home)
    return np.concatenate(out) if out else np.zeros((0, 0), np.float32)


def macro_f1(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> float:
    rows = per_class_from_confusion(confusion(y_true, y_pred, n_classes))
    f1 = [r["f1"] for r in rows if not np.isnan(r["f1"])]
    return float(np.mean(f1)) if f1 else 0.0


def class_weights(y: np.ndarray, n_classes: int, power: float = 0.5) -> torch.Tensor:
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    weights = counts.sum() / np.maximum(counts, 1) / n_classes
    return torch.tensor(weights**power, dtype=torch.float32)


def fit(
    model: nn.Module,
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    n_classes: int,
    config: TrainConfig,
    teacher: nn.Module | None = None,
    desc: str = "train",
    show_progress: bool = True,
    co_teacher: tuple[np.ndarray, float] | None = None,
) -> FitResult:
    """Trains ``model`` in place and returns it with the weights of its best epoch.

    ``co_teacher`` = (class probabilities of every training row, weight w): the soft
    targets become (1 - w) × the teacher's probabilities + w × these (a second teacher of
    another kind, e.g. gradient boosting on hand-made features; needs ``teacher``)."""
    set_seed(config.seed)
    device = torch.device(config.device)
    model.to(device)
    x_train, y_train = train
    x_val, y_val = val
    rng = np.random.default_rng(config.seed)
    weights = class_weights(y_train, n_classes, config.class_balance).to(device)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    steps = max(1, config.epochs * int(np.ceil(len(x_train) / config.batch_size)))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=config.lr, total_steps=steps)
    teacher_logits = (
        torch.from_numpy(predict_logits(teacher, x_train, device=config.device))
        if teacher is not None
        else None
    )
    if teacher_logits is not None and co_teacher is not None:
        probs, weight = co_teacher
        if probs.shape != tuple(teacher_logits.shape):
            raise ValueError(f"co-teacher probabilities {probs.shape}, need {teacher_logits.shape}")
        mixed = (1 - weight) * torch.softmax(teacher_logits, 1) + weight * torch.from_numpy(
            probs.astype(np.float32)
        )
        teacher_logits = torch.log(mixed.clamp(min=1e-6))
    if teacher_logits is not None:
        teacher_logits = teacher_logits.to(device)
    best_state, best_f1, best_epoch, history = None, -1.0, -1, []
    bar = tqdm(range(config.epochs), desc=desc, unit="epoch", disable=not show_progress)
    for epoch in bar:
        model.train()
        order = rng.permutation(len(x_train))
        total = 0.0
        for start in range(0, len(order), config.batch_size):
            idx = order[start : start + config.batch_size]
            xb = x_train[idx]
            if config.augment is not None:
                xb = config.augment(xb, rng)
            logits = model(torch.from_numpy(np.ascontiguousarray(xb, dtype=np.float32)).to(device))
            labels = torch.from_numpy(y_train[idx]).to(device)
            if teacher_logits is not None:
                loss = distillation_loss(
                    logits, teacher_logits[idx], labels, config.temperature, config.alpha, weights
                )
            else:
                loss = F.cross_entropy(logits, labels, weight=weights)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(idx)
        pred = predict_logits(model, x_val).argmax(axis=1)
        f1 = macro_f1(y_val, pred, n_classes)
        history.append({"epoch": epoch, "loss": total / len(x_train), "val_macro_f1": f1})
        bar.set_postfix(loss=f"{total / len(x_train):.3f}", val_f1=f"{f1:.3f}")
        if f1 > best_f1:
            best_f1, best_epoch, best_state = f1, epoch, copy.deepcopy(model.state_dict())
        elif epoch - best_epoch >= config.patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.to("cpu")
    return FitResult(model, best_epoch, best_f1, history)
