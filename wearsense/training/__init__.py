"""Training for every task: one framework shared by AFib, falls and activity.

- ``models`` (ConvNet, NetConfig), ``trainer`` (seeded loop, class weights, model choice on
  validation macro-F1), ``distill``, ``qat``, ``prune`` (structured channel pruning),
  ``export`` (int8 writer), ``metrics`` and ``evaluation`` (the shared report schema),
  ``model_card``;
- ``pipeline``: teacher → distilled student → optional pruning → QAT → int8 `.tflite`, the
  int8 model on the C interpreter, float model files, the Pareto table and plot;
- tasks: ``afib`` (a package, one module per job: inputs, decision, config, splits,
  offsets, rr, train, evaluate); ``imu_task`` (what falls and activity share: front-end
  windows, training driver, Pareto sweep), ``fall``, ``activity``; ``classical`` (the
  baselines of BASELINES.md);
- ``tasks``: the registry, one `Task` per task (labels, input, splits, model factory,
  training recipe, evaluation, baseline, model card), which the commands
  ``wearsense train|evaluate|baseline`` (`wearsense.cli`) look tasks up in.
"""
