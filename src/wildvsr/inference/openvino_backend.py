"""``--backend openvino``: a per-frame model run by OpenVINO's CPU runtime (an optional dependency).

On this project's AVX-512 CPU (no bf16 units) OpenVINO ran Real-ESRGAN x4plus 1.35-1.55x faster than eager PyTorch,
with outputs within 1.5e-5 (``python benchmarks/cpu_backends.py``). The PyTorch module is traced once
(``openvino.convert_model`` on a small crop, about 10 s for x4plus), the graph is reshaped and compiled for each input
shape (about 1 s), and the compiled models of the last few shapes are kept; a video's frames share one shape, so a
video compiles once or twice (the last batch of a chunk may be smaller).
Video models (BasicVSR's Python recurrence) are not supported: their loop would be unrolled per clip length.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import torch
from torch import nn

from wildvsr.errors import ConfigError
from wildvsr.models.spec import ModelSpec

KEEP_SHAPES = 4
"""Compiled models kept (least recently used dropped first)."""

_HINTS = {"fp32": "f32", "bf16": "bf16"}


def check_openvino(spec: ModelSpec, device: torch.device, precision: str) -> None:
    """Refuse what the OpenVINO backend cannot run, with what to do instead.

    Raises:
        ConfigError: openvino missing, a non-CPU device, fp16, or a video model (``spec.temporal``).
    """
    try:
        import openvino  # noqa: F401  (optional dependency: only this backend needs it)
    except ImportError:
        raise ConfigError("--backend openvino needs the openvino package: pip install 'wildvsr[openvino]' "
                          "(or use --backend torch)") from None
    if device.type != "cpu":
        raise ConfigError(f"--backend openvino runs on the CPU; got --device {device} (use --backend torch)")
    if precision not in _HINTS:
        raise ConfigError(f"--backend openvino runs fp32 or bf16, got {precision} (use --precision fp32)")
    if spec.temporal:
        raise ConfigError(f"--backend openvino supports per-frame models (e.g. rrdbnet, srvgg), not the video model "
                          f"{spec.name or 'given'} (use --backend torch)")


class OpenVINOModule:
    """Call a per-frame model ``(B, 3, H, W) -> (B, 3, 4H, 4W)`` float32 through OpenVINO (same interface as the
    module; the output is a new CPU float32 tensor)."""

    def __init__(self, model: nn.Module, precision: str = "fp32", threads: int | None = None) -> None:
        import openvino as ov

        self._ov = ov
        self._core = ov.Core()
        self._model = model
        self._config = {"INFERENCE_PRECISION_HINT": _HINTS[precision],
                        "INFERENCE_NUM_THREADS": int(threads or torch.get_num_threads())}
        self._converted = None  # the traced OpenVINO model, reshaped per input shape
        self._requests: OrderedDict[tuple[int, ...], Callable] = OrderedDict()

    def _request(self, x: torch.Tensor):
        key = tuple(x.shape)
        if key in self._requests:
            self._requests.move_to_end(key)
            return self._requests[key]
        if self._converted is None:
            # Trace once on a small crop (tracing runs the model: 10 s for x4plus at 32x32, 155 s for 12 frames of
            # 116x84), then only reshape the graph for each new input shape (about 1 s).
            with torch.no_grad():
                self._converted = self._ov.convert_model(self._model, example_input=x[:1, :, :32, :32].contiguous())
        self._converted.reshape({0: list(key)})
        request = self._core.compile_model(self._converted, "CPU", self._config).create_infer_request()
        self._requests[key] = request
        if len(self._requests) > KEEP_SHAPES:
            self._requests.popitem(last=False)
        return request

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.detach().float().contiguous()
        out = self._request(x).infer({0: x.numpy()})[0]
        return torch.from_numpy(out.copy())  # the request's buffer is reused by its next call
