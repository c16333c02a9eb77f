"""Builds a quantized `Model` layer by layer from float weights and activation ranges.

Every layer quantizes as the TFLite converter does: weights per output channel,
symmetric int8 in [-127, 127]; biases int32 with scale ``input_scale * weight_scale``;
activations per tensor, asymmetric int8 from a float range that always contains 0.
Tensors are NHWC; a 1-D signal of length W with C channels is ``[1, 1, W, C]``.
Post-training quantization (`wearsense.tflite.ptq`) and the random models of the
tests both go through here.
"""

from __future__ import annotations

import numpy as np

from wearsense.tflite.model import Model, Operator, Tensor, TFLiteError


def activation_qparams(low: float, high: float) -> tuple[float, int]:
    """(scale, zero point) of an int8 tensor covering ``[low, high]`` (widened to hold 0)."""
    low, high = min(float(low), 0.0), max(float(high), 0.0)
    if high - low < 1e-6:
        high = low + 1e-6
    scale = float(np.float32((high - low) / 255.0))
    zero_point = int(np.clip(np.round(-128 - low / scale), -128, 127))
    return scale, zero_point


def quantize_weights(weights: np.ndarray, axis: int) -> tuple[np.ndarray, list[float]]:
    """Per-channel symmetric int8 along ``axis``: (int8 weights, scales)."""
    moved = np.moveaxis(np.asarray(weights, dtype=np.float64), axis, 0)
    peak = np.abs(moved.reshape(moved.shape[0], -1)).max(axis=1)
    scales = np.maximum(peak, 1e-8) / 127.0
    scales = scales.astype(np.float32).astype(np.float64)
    shape = [-1] + [1] * (moved.ndim - 1)
    q = np.clip(np.round(moved / scales.reshape(shape)), -127, 127).astype(np.int8)
    return np.moveaxis(q, 0, axis), [float(s) for s in scales]


class GraphBuilder:
    def __init__(self, description: str = "wearsense") -> None:
        self.tensors: list[Tensor] = []
        self.operators: list[Operator] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.description = description

    def _add(self, tensor: Tensor) -> int:
        self.tensors.append(tensor)
        return len(self.tensors) - 1

    def _activation(self, name: str, shape: tuple[int, ...], qparams: tuple[float, int]) -> int:
        scale, zero_point = qparams
        return self._add(Tensor(name, shape, "int8", [scale], [zero_point]))

    def shape(self, index: int) -> tuple[int, ...]:
        return self.tensors[index].shape

    def qparams(self, index: int) -> tuple[float, int]:
        t = self.tensors[index]
        return t.scale[0], t.zero_point[0]

    def input(self, shape: tuple[int, ...], qparams: tuple[float, int], name: str = "input") -> int:
        index = self._activation(name, shape, qparams)
        self.inputs.append(index)
        return index

    def float_input(self, shape: tuple[int, ...], name: str = "input") -> int:
        index = self._add(Tensor(name, shape, "float32"))
        self.inputs.append(index)
        return index

    def quantize(self, x: int, qparams: tuple[float, int]) -> int:
        out = self._activation(f"quantize{len(self.operators)}", self.shape(x), qparams)
        self.operators.append(Operator("QUANTIZE", [x], [out]))
        return out

    def dequantize(self, x: int) -> int:
        out = self._add(Tensor(f"dequantize{len(self.operators)}", self.shape(x), "float32"))
        self.operators.append(Operator("DEQUANTIZE", [x], [out]))
        return out

    def _bias(self, name: str, bias: np.ndarray | None, x: int, w_scales: list[float]) -> int:
        in_scale = np.float32(self.tensors[x].scale[0])
        scales = [float(in_scale * np.float32(s)) for s in w_scales]
        if bias is None:
            return -1
        q = np.round(np.asarray(bias, dtype=np.float64) / np.asarray(scales, dtype=np.float64))
        q = np.clip(q, -(2**31), 2**31 - 1).astype(np.int32)
        return self._add(Tensor(name, (len(scales),), "int32", scales, [0] * len(scales), 0, q))

    def conv1d(
        self,
        x: int,
        weight: np.ndarray,
        bias: np.ndarray | None,
        out_q: tuple[float, int],
        stride: int = 1,
        padding: str = "VALID",
        dilation: int = 1,
        activation: str = "NONE",
        depthwise: bool = False,
    ) -> int:
        """``weight`` as PyTorch keeps it: ``[out, in/groups, K]``; depthwise: ``[C*m, 1, K]``."""
        n, h, w_in, c_in = self.shape(x)
        weight = np.asarray(weight, dtype=np.float64)
        out_c, _, k = weight.shape
        number = len(self.operators)
        if depthwise:
            if out_c % c_in:
                raise TFLiteError("depthwise: output channels must be a multiple of input channels")
            filt = weight[:, 0, :].T.reshape(1, 1, k, out_c)  # [1, 1, K, C*m]
            q, scales = quantize_weights(filt, axis=3)
            w_index = self._add(
                Tensor(f"dw{number}.weight", q.shape, "int8", scales, [0] * out_c, 3, q)
            )
        else:
            if weight.shape[1] != c_in:
                raise TFLiteError("conv1d: weight input channels do not match the input")
            filt = np.transpose(weight, (0, 2, 1)).reshape(out_c, 1, k, c_in)
            q, scales = quantize_weights(filt, axis=0)
            w_index = self._add(
                Tensor(f"conv{number}.weight", q.shape, "int8", scales, [0] * out_c, 0, q)
            )
        b_index = self._bias(f"op{number}.bias", bias, x, scales)
        eff = (k - 1) * dilation + 1
        out_w = (w_in + stride - 1) // stride if padding == "SAME" else (w_in - eff) // stride + 1
        if out_w < 1:
            raise TFLiteError("conv1d: output would be empty")
        out = self._activation(f"op{number}.out", (n, h, out_w, out_c), out_q)
        options = {
            "padding": padding,
            "stride_w": stride,
            "stride_h": 1,
            "dilation_w_factor": dilation,
            "dilation_h_factor": 1,
            "fused_activation_function": activation,
        }
        if depthwise:
            options["depth_multiplier"] = out_c // c_in
        op = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
        inputs = [x, w_index] + ([b_index] if b_index >= 0 else [])
        self.operators.append(Operator(op, inputs, [out], options))
        return out

    def dense(
        self,
        x: int,
        weight: np.ndarray,
        bias: np.ndarray | None,
        out_q: tuple[float, int],
        activation: str = "NONE",
        per_channel: bool = False,
    ) -> int:
        """``weight`` ``[out, in]``; a 4-D input is flattened first (RESHAPE)."""
        weight = np.asarray(weight, dtype=np.float64)
        units, depth = weight.shape
        if len(self.shape(x)) != 2:
            x = self.reshape(x, (int(np.prod(self.shape(x))) // depth, depth))
        number = len(self.operators)
        if per_channel:
            q, scales = quantize_weights(weight, axis=0)
        else:
            q_all, _ = quantize_weights(weight.reshape(1, -1), axis=0)
            peak = max(float(np.abs(weight).max()), 1e-8)
            scale = float(np.float32(peak / 127.0))
            q = np.clip(np.round(weight / scale), -127, 127).astype(np.int8)
            scales = [scale]
            del q_all
        w_index = self._add(
            Tensor(f"fc{number}.weight", q.shape, "int8", scales, [0] * len(scales), 0, q)
        )
        b_scales = scales if per_channel else scales * units
        b_index = self._bias(f"fc{number}.bias", bias, x, b_scales)
        if b_index >= 0 and not per_channel:
            bias_tensor = self.tensors[b_index]
            bias_tensor.scale = bias_tensor.scale[:1]
            bias_tensor.zero_point = [0]
        batches = self.shape(x)[0]
        out = self._activation(f"fc{number}.out", (batches, units), out_q)
        inputs = [x, w_index] + ([b_index] if b_index >= 0 else [])
        self.operators.append(
            Operator("FULLY_CONNECTED", inputs, [out], {"fused_activation_function": activation})
        )
        return out

    def pool1d(self, x: int, kind: str, size: int, stride: int, padding: str = "VALID") -> int:
        n, h, w_in, c = self.shape(x)
        out_w = (w_in + stride - 1) // stride if padding == "SAME" else (w_in - size) // stride + 1
        if out_w < 1:
            raise TFLiteError("pool1d: output would be empty")
        number = len(self.operators)
        out = self._activation(f"pool{number}.out", (n, h, out_w, c), self.qparams(x))
        op = "MAX_POOL_2D" if kind == "max" else "AVERAGE_POOL_2D"
        options = {
            "padding": padding,
            "stride_w": stride,
            "stride_h": 1,
            "filter_width": size,
            "filter_height": 1,
        }
        self.operators.append(Operator(op, [x], [out], options))
        return out

    def global_avg_pool(self, x: int) -> int:
        return self.pool1d(x, "avg", self.shape(x)[2], 1)

    def add(self, a: int, b: int, out_q: tuple[float, int], activation: str = "NONE") -> int:
        if self.shape(a) != self.shape(b):
            raise TFLiteError("add: operand shapes differ")
        out = self._activation(f"add{len(self.operators)}.out", self.shape(a), out_q)
        self.operators.append(
            Operator("ADD", [a, b], [out], {"fused_activation_function": activation})
        )
        return out

    def softmax(self, x: int, beta: float = 1.0) -> int:
        """Softmax over the last axis; int8 output fixed at scale 1/256, zero point -128."""
        out = self._activation(f"softmax{len(self.operators)}.out", self.shape(x), (1 / 256, -128))
        self.operators.append(Operator("SOFTMAX", [x], [out], {"beta": beta}))
        return out

    def mul(self, a: int, b: int, out_q: tuple[float, int], activation: str = "NONE") -> int:
        if self.shape(a) != self.shape(b):
            raise TFLiteError("mul: operand shapes differ")
        out = self._activation(f"mul{len(self.operators)}.out", self.shape(a), out_q)
        self.operators.append(
            Operator("MUL", [a, b], [out], {"fused_activation_function": activation})
        )
        return out

    def logistic(self, x: int) -> int:
        out = self._activation(f"logistic{len(self.operators)}.out", self.shape(x), (1 / 256, -128))
        self.operators.append(Operator("LOGISTIC", [x], [out]))
        return out

    def tanh(self, x: int) -> int:
        out = self._activation(f"tanh{len(self.operators)}.out", self.shape(x), (1 / 128, 0))
        self.operators.append(Operator("TANH", [x], [out]))
        return out

    def leaky_relu(self, x: int, alpha: float, out_q: tuple[float, int]) -> int:
        """LEAKY_RELU: x where x >= 0, alpha * x below, requantized to `out_q`."""
        out = self._activation(f"leaky_relu{len(self.operators)}.out", self.shape(x), out_q)
        self.operators.append(Operator("LEAKY_RELU", [x], [out], {"alpha": alpha}))
        return out

    def _ints(self, name: str, values: list[int] | np.ndarray) -> int:
        data = np.asarray(values, dtype=np.int32)
        return self._add(Tensor(name, data.shape, "int32", data=data))

    def _same_q(self, x: int, name: str, shape: tuple[int, ...]) -> int:
        src = self.tensors[x]
        return self._add(Tensor(name, shape, src.dtype, list(src.scale), list(src.zero_point)))

    def mean(
        self, x: int, axes: list[int], out_q: tuple[float, int], keep_dims: bool = True
    ) -> int:
        """MEAN over ``axes`` (negative counts from the end)."""
        shape = self.shape(x)
        rank = len(shape)
        reduced = {a % rank for a in axes}
        if keep_dims:
            out_shape = tuple(1 if i in reduced else d for i, d in enumerate(shape))
        else:
            out_shape = tuple(d for i, d in enumerate(shape) if i not in reduced)
        number = len(self.operators)
        axes_index = self._ints(f"mean{number}.axes", axes)
        out = self._activation(f"mean{number}.out", out_shape, out_q)
        self.operators.append(Operator("MEAN", [x, axes_index], [out], {"keep_dims": keep_dims}))
        return out

    def pad(self, x: int, paddings: list[tuple[int, int]]) -> int:
        number = len(self.operators)
        shape = tuple(d + a + b for d, (a, b) in zip(self.shape(x), paddings, strict=True))
        pads = self._ints(f"pad{number}.paddings", np.asarray(paddings).reshape(-1, 2))
        out = self._same_q(x, f"pad{number}.out", shape)
        self.operators.append(Operator("PAD", [x, pads], [out]))
        return out

    def transpose(self, x: int, perm: list[int]) -> int:
        number = len(self.operators)
        shape = tuple(self.shape(x)[p] for p in perm)
        perm_index = self._ints(f"transpose{number}.perm", perm)
        out = self._same_q(x, f"transpose{number}.out", shape)
        self.operators.append(Operator("TRANSPOSE", [x, perm_index], [out]))
        return out

    def slice(self, x: int, begin: list[int], size: list[int]) -> int:
        number = len(self.operators)
        shape = tuple(
            d - b if s == -1 else s for d, b, s in zip(self.shape(x), begin, size, strict=True)
        )
        b_index = self._ints(f"slice{number}.begin", begin)
        s_index = self._ints(f"slice{number}.size", size)
        out = self._same_q(x, f"slice{number}.out", shape)
        self.operators.append(Operator("SLICE", [x, b_index, s_index], [out]))
        return out

    def strided_slice(
        self,
        x: int,
        begin: list[int],
        end: list[int],
        strides: list[int],
        begin_mask: int = 0,
        end_mask: int = 0,
        shrink_axis_mask: int = 0,
    ) -> int:
        """STRIDED_SLICE; the output shape is computed with numpy's slicing rules."""
        shape = self.shape(x)
        index: list[slice | int] = []
        for axis, (b, e, s) in enumerate(zip(begin, end, strides, strict=True)):
            start = None if begin_mask >> axis & 1 else b
            stop = None if end_mask >> axis & 1 else e
            if shrink_axis_mask >> axis & 1:
                index.append(b)
            else:
                index.append(slice(start, stop, s))
        out_shape = np.empty(shape, dtype=np.int8)[tuple(index)].shape
        number = len(self.operators)
        inputs = [
            x,
            self._ints(f"ss{number}.begin", begin),
            self._ints(f"ss{number}.end", end),
            self._ints(f"ss{number}.strides", strides),
        ]
        out = self._same_q(x, f"ss{number}.out", tuple(out_shape))
        options = {
            "begin_mask": begin_mask,
            "end_mask": end_mask,
            "shrink_axis_mask": shrink_axis_mask,
        }
        self.operators.append(Operator("STRIDED_SLICE", inputs, [out], options))
        return out

    def concat(self, parts: list[int], axis: int) -> int:
        shapes = [list(self.shape(p)) for p in parts]
        shape = list(shapes[0])
        shape[axis] = sum(s[axis] for s in shapes)
        out = self._same_q(parts[0], f"concat{len(self.operators)}.out", tuple(shape))
        self.operators.append(Operator("CONCATENATION", list(parts), [out], {"axis": axis}))
        return out

    def reshape(self, x: int, shape: tuple[int, ...]) -> int:
        number = len(self.operators)
        new_shape = np.asarray(shape, dtype=np.int32)
        shape_index = self._add(
            Tensor(f"reshape{number}.shape", (len(shape),), "int32", data=new_shape)
        )
        src = self.tensors[x]
        out = self._add(
            Tensor(
                f"reshape{number}.out",
                tuple(shape),
                src.dtype,
                list(src.scale),
                list(src.zero_point),
            )
        )
        self.operators.append(Operator("RESHAPE", [x, shape_index], [out]))
        return out

    def output(self, x: int) -> None:
        self.outputs.append(x)

    def build(self) -> Model:
        model = Model(self.tensors, self.operators, self.inputs, self.outputs, self.description)
        model.validate()
        return model
