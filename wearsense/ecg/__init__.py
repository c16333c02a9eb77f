"""Host-side ECG evaluation: the firmware's QRS detector scored against reference
beat annotations (AAMI EC57); the ``wearsense ecg`` command is ``wearsense.cli.ecg``."""
