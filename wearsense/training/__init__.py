"""Training for every task: one framework (models, distillation, quantization-aware
fine-tuning, metrics) shared by AFib, falls and activity."""
