"""Knowledge distillation: the student learns the teacher's softened output distribution
(temperature T) together with the hard labels."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def distillation_loss(
    student_logits: torch.Tensor,
    teacher_logits: torch.Tensor,
    labels: torch.Tensor,
    temperature: float = 4.0,
    alpha: float = 0.7,
    class_weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """alpha · T² · KL(teacher_T ‖ student_T) + (1 − alpha) · CE(student, labels).

    T² keeps the soft term's gradient on the same scale as the hard term's when T changes
    (Hinton et al., 2015)."""
    soft_student = F.log_softmax(student_logits / temperature, dim=1)
    soft_teacher = F.softmax(teacher_logits / temperature, dim=1)
    soft = F.kl_div(soft_student, soft_teacher, reduction="batchmean") * temperature**2
    hard = F.cross_entropy(student_logits, labels, weight=class_weights)
    return alpha * soft + (1.0 - alpha) * hard
