"""Real-ESRGAN per-frame models on CPU: seconds per frame, bf16 vs fp32 fidelity, reflection pre-pad and tiling.

On one real frame (``videolq_000`` frame 0, centre crop 320x180 -> 1280x720) for each model it prints:

* seconds per frame of the bare model call (one untimed warm-up per setting), fp32 and bf16 autocast, each in
  contiguous (NCHW) and channels_last (NHWC: model and input; oneDNN's AMX/AVX512-BF16 kernels want NHWC) format.
  Timings are ratios within one run: other processes share the CPU.
* PSNR of the bf16 output vs the fp32 output (uint8, RGB).
* the border effect of the reflection pre-pad: PSNR vs a reference that saw 32 real pixels of context on every side
  (the same model on a larger crop, centre taken), in the outer 8-input-pixel band (32 output px) and in the interior,
  without pre-pad and with the Upscaler's ``PRE_PAD``.
* tiled (``--tile``, ``--tile-overlap``) vs whole frame, PSNR.

    PYTHONPATH=src python benchmarks/realesrgan_cpu.py --models srvgg.animevideov3
    PYTHONPATH=src python benchmarks/realesrgan_cpu.py --models rrdbnet.x4plus --precisions fp32 --no-warmup --skip-border
    PYTHONPATH=src python benchmarks/realesrgan_cpu.py --models rrdbnet.x4plus --size 160x90 --no-warmup

(RRDBNet runs ~1 TMAC per 320x180 frame: minutes per call on a busy 2-core machine; without ``--no-warmup`` every
setting runs twice.)
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from wildvsr.inference import Upscaler
from wildvsr.inference.plan import PRE_PAD
from wildvsr.models import create_model
from wildvsr.utils.frames import to_frames

DEFAULT_IMAGE = Path(__file__).resolve().parents[2] / "shared" / "data" / "real_lq" / "videolq_000" / "00000000.png"
CONTEXT = 32  # real pixels around the crop for the border reference
BAND = 8  # input pixels of the border band scored


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def timed_call(model: torch.nn.Module, x: torch.Tensor, precision: str, channels_last: bool,
               warmup: bool = True) -> tuple[float, np.ndarray]:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model.to(memory_format=fmt)
    x = x.contiguous(memory_format=fmt)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        if warmup:
            model(x)  # oneDNN primitive creation for this shape and format
        start = time.perf_counter()
        out = model(x)
        seconds = time.perf_counter() - start
    model.to(memory_format=torch.contiguous_format)
    return seconds, to_frames(out[0].float())


def border_scores(out: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """PSNR in the outer band (BAND input px = 4*BAND output px) and in the interior."""
    b = 4 * BAND
    mask = np.ones(out.shape[:2], bool)
    mask[b:-b, b:-b] = False
    return psnr(out[mask], ref[mask]), psnr(out[~mask], ref[~mask])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["srvgg.animevideov3", "rrdbnet.x4plus"])
    parser.add_argument("--image", type=Path, default=DEFAULT_IMAGE)
    parser.add_argument("--size", default="320x180", help="centre crop WxH")
    parser.add_argument("--tile", type=int, default=96)
    parser.add_argument("--tile-overlap", type=int, default=16)
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--no-warmup", action="store_true", help="time the first call (negligible for RRDBNet)")
    parser.add_argument("--skip-border", action="store_true", help="only the speed table")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    image = np.asarray(Image.open(args.image).convert("RGB"))
    y0, x0 = (image.shape[0] - height) // 2, (image.shape[1] - width) // 2
    if y0 < CONTEXT or x0 < CONTEXT:
        raise SystemExit(f"{args.image} is too small for a {args.size} crop with {CONTEXT} px of context")
    crop = image[y0: y0 + height, x0: x0 + width]
    wide = image[y0 - CONTEXT: y0 + height + CONTEXT, x0 - CONTEXT: x0 + width + CONTEXT]
    x = torch.from_numpy(np.ascontiguousarray(crop)).permute(2, 0, 1)[None].float() / 255
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, input {args.image.name} crop {args.size}")
    print("| model | setting | s/frame | PSNR vs fp32 (dB) |")
    print("|---|---|---|---|")
    results = {}
    for name in args.models:
        model = create_model(name).eval()
        ref_fp32 = None
        for precision in args.precisions:
            for cl in (False, True):
                seconds, out = timed_call(model, x, precision, cl, not args.no_warmup)
                ref_fp32 = out if ref_fp32 is None and precision == "fp32" else ref_fp32
                label = precision + (" + channels_last" if cl else "")
                score = f"{psnr(out, ref_fp32):.2f}" if ref_fp32 is not None else ""
                print(f"| {name} | {label} | {seconds:.2f} | {score} |", flush=True)
        results[name] = model
    if args.skip_border:
        return
    print()
    print(f"| model | pre-pad | border {BAND}px PSNR (dB) | interior PSNR (dB) | tiled {args.tile}/{args.tile_overlap} "
          f"vs whole (dB) |")
    print("|---|---|---|---|---|")
    for name, model in results.items():
        up = Upscaler(model, "cpu", chunk_size=1)
        context = up.process_window(wide[None])[0]  # pre-padded too, but its border is 32 px away from the crop's
        c = 4 * CONTEXT
        reference = context[c: c + 4 * height, c: c + 4 * width]
        padded = up.process_window(crop[None])[0]
        no_pad = up.process_window(crop[None], plan=dataclasses.replace(up.plan(*crop.shape[:2]), pre_pad=0))[0]
        tiled = Upscaler(model, "cpu", chunk_size=1, tile=args.tile, tile_overlap=args.tile_overlap)
        tiled_out = tiled.process_window(crop[None])[0]
        for pad, out in ((0, no_pad), (PRE_PAD, padded)):
            band, inner = border_scores(out, reference)
            extra = f"{psnr(tiled_out, padded):.2f}" if pad else ""
            print(f"| {name} | {pad} | {band:.2f} | {inner:.2f} | {extra} |", flush=True)


if __name__ == "__main__":
    main()
