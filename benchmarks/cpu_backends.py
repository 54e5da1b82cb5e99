"""CPU inference backends side by side on one model call: eager PyTorch (NCHW, channels-last), ``torch.compile``
(inductor), OpenVINO and ONNX Runtime, all fp32 (this script's machine has no bf16 units; see the README).

Each backend runs the same registered model with its shipped weights on the same real frames (``videolq_000``
resized), one fixed input shape; the time is the best of ``--repeat`` calls after a warm-up, and the output is
compared with eager fp32 (max |diff| and PSNR of the [0, 1] output). OpenVINO runs what ``--backend openvino`` runs
(per-frame models only); ONNX Runtime gets the whole model exported at a fixed shape (for BasicVSR that unrolls the
recurrence over ``--frames`` frames: fine for a measurement, not for a product backend). OpenVINO and ONNX Runtime are optional
(``pip install openvino onnxruntime onnx``); a missing one is reported as such.

    python benchmarks/cpu_backends.py --model rrdbnet.x4plus --size 64x64
    python benchmarks/cpu_backends.py --model basicvsr --size 64x64 --frames 4
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from upscale_speed import model_for, real_frames


def best_time(fn: Callable[[], torch.Tensor], repeat: int) -> tuple[float, torch.Tensor]:
    out = fn()  # warm-up (and compilation for the graph backends)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def onnxruntime_runner(model: torch.nn.Module, x: torch.Tensor, folder: Path) -> Callable[[], torch.Tensor]:
    import onnxruntime as ort

    path = folder / "model.onnx"
    torch.onnx.export(model, (x,), str(path), input_names=["x"], output_names=["y"], dynamo=False)
    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda: torch.from_numpy(session.run(None, {"x": x.numpy()})[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="rrdbnet.x4plus")
    parser.add_argument("--weights", default=None)
    parser.add_argument("--size", default="64x64", help="input WxH")
    parser.add_argument("--frames", type=int, default=4, help="frames per call (a clip for video models)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", nargs="+", default=["eager", "eager+cl", "compile", "openvino", "onnxruntime"])
    args = parser.parse_args()
    w, h = map(int, args.size.split("x"))
    model = model_for(args).eval()
    frames = torch.from_numpy(real_frames(args.frames, w, h)).permute(0, 3, 1, 2).float().div(255)  # (T, 3, h, w)
    x = frames if not getattr(model, "temporal", True) else frames[None]  # per-frame batch or (1, T, 3, h, w) clip
    print(f"\n{args.model}, {args.frames} real frames of {args.size}, fp32, {torch.get_num_threads()} threads, "
          f"best of {args.repeat}")
    print("| backend | ms/frame | vs eager | max abs diff | PSNR vs eager (dB) |")
    print("|---|---|---|---|---|")
    with torch.no_grad(), tempfile.TemporaryDirectory() as tmp:
        ref_time, ref = best_time(lambda: model(x), args.repeat)
        for name in args.backends:
            module = f"{name}" if name in ("openvino", "onnxruntime") else None
            if module and importlib.util.find_spec(module) is None:
                print(f"| {name} | not installed (`pip install {module}`) | | | |")
                continue
            if name == "openvino" and x.dim() == 5:
                print("| openvino | per-frame models only (a video model's recurrence unrolls per clip length) | | | |")
                continue
            if name == "eager":
                dt, out = ref_time, ref
            elif name == "eager+cl":
                cl = model_for(args).eval().to(memory_format=torch.channels_last)
                xc = x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x
                dt, out = best_time(lambda: cl(xc), args.repeat)
            elif name == "compile":
                compiled = torch.compile(model)
                dt, out = best_time(lambda: compiled(x), args.repeat)
            elif name == "openvino":
                from wildvsr.inference.openvino_backend import OpenVINOModule  # what --backend openvino runs

                runner = OpenVINOModule(model)
                dt, out = best_time(lambda: runner(x), args.repeat)
            else:
                dt, out = best_time(onnxruntime_runner(model, x, Path(tmp)), args.repeat)
            err = (out - ref).abs().max().item()
            mse = ((out.clamp(0, 1) - ref.clamp(0, 1)) ** 2).mean().item()
            print(f"| {name} | {1000 * dt / args.frames:.0f} | {ref_time / dt:.2f}x | {err:.1e} | "
                  f"{float('inf') if mse == 0 else 10 * np.log10(1 / mse):.1f} |", flush=True)


if __name__ == "__main__":
    main()
