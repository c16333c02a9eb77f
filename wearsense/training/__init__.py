"""Training for every task: one framework shared by AFib, falls and activity.

- ``models`` (ConvNet, NetConfig), ``trainer`` (seeded loop, class weights, model choice on
  validation macro-F1), ``distill``, ``qat``, ``prune`` (structured channel pruning),
  ``export`` (int8 writer), ``metrics`` and ``evaluation`` (the shared report schema),
  ``model_card``;
- ``pipeline``: teacher → distilled student → optional pruning → QAT → int8 `.tflite`, the
  int8 model on the C interpreter, float model files, the Pareto table and plot;
- tasks: ``afib``; ``imu_task`` (what falls and activity share: front-end windows,
  training driver, Pareto sweep), ``fall``, ``activity``; ``cli`` registers
  ``wearsense train|evaluate afib|fall|activity``.
"""
