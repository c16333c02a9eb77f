"""Host-side ECG evaluation: the firmware's QRS detector scored against reference
beat annotations (AAMI EC57), and the ``wearsense ecg`` command."""
