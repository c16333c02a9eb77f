"""Int8 `.tflite` models: a quantized network description (`Model`), its writer and
reader, and post-training quantization of small PyTorch modules (`wearsense.tflite.ptq`,
which needs the ``train`` extra)."""

from wearsense.tflite.model import Model, Operator, Tensor, TFLiteError
from wearsense.tflite.reader import read_tflite
from wearsense.tflite.writer import write_tflite

__all__ = ["Model", "Operator", "Tensor", "TFLiteError", "read_tflite", "write_tflite"]
