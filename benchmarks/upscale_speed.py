"""Upscaling speed per backend/precision/memory format: model-only ms/frame, end-to-end frames/s, peak memory, PSNR.

One table per device. Inputs are REAL frames (``real_lq/videolq_000`` resized to each input size, antialiased
bicubic), because reduced precision is judged on real content, not noise. For each variant (``precision[+cl]`` or
``compile``; ``auto`` is the default the CLI uses) it reports:

* model-only ms/frame: one model call on the whole clip (``--frames`` frames), after a 2-frame warm-up; the
  variants are timed in turn, ``--repeat`` rounds, best round kept (the machine is shared: compare rows of one run).
* PSNR (dB) of the uint8 output against plain fp32 PyTorch (contiguous memory format) on the same frames.
* end-to-end frames/s with ``--e2e-frames N``: an H.264 clip file of N frames in, an H.264 file out, through
  ``upscale_video`` with that variant and default chunking/threading.
* peak memory: CUDA max allocated, or process peak-RSS growth on CPU (a peak reached earlier shows as ~0).

``--done-checks`` prints the acceptance figures of issue 12 instead: end to end on 72 PNG frames of 160x120 (PNG in,
PNG out, default settings) vs a naive whole-sequence fp32 forward from tensors in memory, and the per-input-pixel
cost of 640x360 vs 160x120 frames (default settings, through the ``Upscaler`` with tiling; propagation and
reconstruction per frame are timed separately and combined over the planned chunks of a long video, since a
context frame only propagates).

    python benchmarks/upscale_speed.py --size 320x180 --variants fp32 fp32+cl bf16 bf16+cl auto --frames 8
    python benchmarks/upscale_speed.py --model rrdbnet.x4plus --size 160x90 --variants auto compile --frames 4
    python benchmarks/upscale_speed.py --size 160x120 --variants auto fp32 --e2e-frames 300
    python benchmarks/upscale_speed.py --done-checks
    python benchmarks/upscale_speed.py --device cuda --size 320x180 480x270 960x540 --variants fp32 bf16+cl fp16+cl
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from wildvsr.inference import UpscaleConfig, Upscaler, upscale_video
from wildvsr.inference.runner import load_model
from wildvsr.video import VideoWriter

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_lq" / "videolq_000"


def real_frames(frames: int, width: int, height: int) -> np.ndarray:
    """``(frames, height, width, 3)`` uint8 from videolq_000 (cycled forward-backward when more are asked for)."""
    paths = sorted(DATA.glob("*.png"))
    order = (paths + paths[-2:0:-1]) * (frames // (2 * len(paths) - 2) + 1)
    imgs = [np.asarray(Image.open(p).convert("RGB")) for p in order[:frames]]
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float()
    x = F.interpolate(x, size=(height, width), mode="bicubic", antialias=True, align_corners=False)
    return x.clamp(0, 255).round().to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def model_for(args) -> torch.nn.Module:
    """A fresh instance of the benchmarked model with its weights (as ``wildvsr upscale`` loads it)."""
    return load_model(UpscaleConfig(model=args.model, weights=args.weights))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def parse_variant(variant: str) -> dict:
    """``fp32`` / ``bf16+cl`` / ``auto`` / ``compile`` / ``bf16+cl+compile`` -> Upscaler keyword arguments."""
    parts = variant.split("+")
    precision = parts[0] if parts[0] in ("auto", "fp32", "bf16", "fp16") else "auto"
    kwargs = {"precision": precision, "backend": "compile" if "compile" in parts else "torch"}
    if precision != "auto" or "cl" in parts:
        kwargs["channels_last"] = "cl" in parts
    return kwargs


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def model_only(up: Upscaler, clip: np.ndarray) -> tuple[float, np.ndarray]:
    """Seconds of one model call on the whole clip (warm-up first) and its uint8 output."""
    up.process_window(clip[:2])
    _sync(up.device)
    t0 = time.perf_counter()
    out = up._forward(clip)  # (T, 3, 4h, 4w) float
    _sync(up.device)
    dt = time.perf_counter() - t0
    return dt, up._to_frames(out, clip.shape[1], clip.shape[2])


def peak_memory(device: torch.device, rss0: int) -> str:
    if device.type == "cuda":
        return f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f} (GPU alloc)"
    return f"{(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0) / 1024:.0f} (RSS growth)"


def end_to_end(args, variant: str, clip: np.ndarray, tmp: Path) -> float:
    """Frames/s of ``upscale_video`` on an H.264 file of ``clip`` -> H.264 file."""
    src = tmp / f"in_{clip.shape[2]}x{clip.shape[1]}.mp4"
    if not src.exists():
        with VideoWriter(src, fps=25, codec="libx264", crf=18, pix_fmt="yuv420p") as writer:
            for image in clip:
                writer.write(image)
    dst = tmp / "out.mp4"
    kw = parse_variant(variant)
    config = UpscaleConfig(model=args.model, weights=args.weights, device=args.device, precision=kw["precision"],
                           backend=kw["backend"], temporal="off", overwrite=True)
    t0 = time.perf_counter()
    upscale_video(src, dst, config)
    return len(clip) / (time.perf_counter() - t0)


def table(args) -> None:
    for size in args.size:
        w, h = map(int, size.split("x"))
        clip = real_frames(args.frames, w, h)
        ups = {v: Upscaler(model_for(args), args.device, chunk_size=args.frames,
                           overlap=0, **parse_variant(v)) for v in ["fp32", *args.variants]}
        best: dict[str, float] = {}
        outs: dict[str, np.ndarray] = {}
        mem: dict[str, str] = {}
        for _ in range(args.repeat):
            for v, up in ups.items():
                if up.device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(up.device)
                rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                dt, outs[v] = model_only(up, clip)
                mem[v] = peak_memory(up.device, rss0)
                best[v] = min(best.get(v, float("inf")), dt)
        dev = ups["fp32"].device
        threads = torch.get_num_threads() if dev.type == "cpu" else "-"
        print(f"\n{dev} ({threads} threads), {args.model} ({args.weights}), {args.frames} real frames of {size} -> "
              f"{4 * w}x{4 * h}, best of {args.repeat}")
        print("| model | backend | precision | channels_last | input | model-only ms/frame | vs fp32 | "
              "e2e frames/s | peak MiB | PSNR vs fp32 (dB) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        with tempfile.TemporaryDirectory() as tmp:
            for v, up in ups.items():
                if v == "fp32" and "fp32" in args.variants:
                    continue
                label = "fp32 (reference)" if v == "fp32" else v
                e2e = f"{end_to_end(args, v, real_frames(args.e2e_frames, w, h), Path(tmp)):.2f}" \
                    if args.e2e_frames else "-"
                print(f"| {args.model} {label} | {up.backend} | {up.precision} | {up.channels_last} | {size} | "
                      f"{1000 * best[v] / args.frames:.0f} | {best['fp32'] / best[v]:.2f}x | {e2e} | {mem[v]} | "
                      f"{psnr(outs[v], outs['fp32']):.1f} |", flush=True)


def end_to_end_check(args) -> None:
    """Issue 12's end-to-end figure: 72 PNG frames of 160x120 through ``upscale_video`` vs a naive whole-sequence
    fp32 forward of the same model from tensors in memory, measured in this one run."""
    frames = real_frames(72, 160, 120)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        for i, img in enumerate(frames):
            Image.fromarray(img).save(src / f"{i:04d}.png")
        # naive: one whole-sequence fp32 forward from tensors already in memory
        model = model_for(args)
        x = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255).unsqueeze(0)
        with torch.no_grad():
            model(x[:, :2])  # warm-up
            t0 = time.perf_counter()
            model(x)
            naive = time.perf_counter() - t0
        del model
        config = UpscaleConfig(model=args.model, weights=args.weights, device=args.device, overwrite=True)
        upscale_video(src, Path(tmp) / "warm", UpscaleConfig(model=args.model, weights=args.weights, device=args.device,
                                                             chunk_size=2, overlap=0))  # untimed warm-up (oneDNN)
        t0 = time.perf_counter()
        upscale_video(src, Path(tmp) / "out", config)
        ours = time.perf_counter() - t0
    print(f"72 PNG frames 160x120 -> PNG, default settings: wildvsr {ours:.1f} s, naive whole-sequence fp32 forward "
          f"{naive:.1f} s: ratio {ours / naive:.2f} (target <= 0.2)", flush=True)


def per_pixel_check(args) -> None:
    """Issue 12's per-pixel figure: cost per input pixel of 640x360 vs 160x120 frames with default settings."""
    from wildvsr.inference.chunking import ChunkSpec, plan_chunks

    per_pixel = {}
    for w, h in ((160, 120), (640, 360)):
        up = Upscaler(model_for(args), args.device, tile=None)  # the CLI's defaults (auto tile)
        chunk = up.plan(h, w).chunk_size
        plan = plan_chunks(10 * chunk, chunk, up.overlap)
        waste = sum(s.context_stop - s.context_start for s in plan) / (10 * chunk)
        n = max(2, min(args.frames, chunk + 2 * up.overlap))
        clip = real_frames(n, w, h)
        up.process_window(clip[:2])  # warm-up
        # A window costs propagation for its frames and reconstruction for the kept ones: time both kinds of frame
        # through the Upscaler (tiling included), keeping every frame and then only the last (which still
        # propagates every frame both ways).
        all_kept = one_kept = float("inf")
        for _ in range(args.repeat):  # best of --repeat rounds (the machine is shared)
            t0 = time.perf_counter()
            up.process_window(clip)
            all_kept = min(all_kept, time.perf_counter() - t0)
            t0 = time.perf_counter()
            up.process_window(clip, ChunkSpec(0, n - 1, n, 0, n))
            one_kept = min(one_kept, time.perf_counter() - t0)
        rec = max(0.0, (all_kept - one_kept) / (n - 1))
        prop = all_kept / n - rec
        # On a long video every frame of a window propagates and only the kept ones rebuild (an upper bound: the
        # context frames after a chunk propagate backward only).
        per_output_frame = waste * prop + rec
        per_pixel[(w, h)] = per_output_frame / (w * h)
        print(f"{w}x{h}: precision {up.precision}, channels_last {up.channels_last}, tile {up.plan(h, w).tile}, chunk "
              f"{chunk} + 2x{up.overlap} overlap -> {waste:.3f} frames propagated per output frame on a long video; "
              f"measured over {n} frames: {1000 * prop:.0f} ms propagation + {1000 * rec:.0f} ms reconstruction per "
              f"frame -> {1000 * per_output_frame:.0f} ms, {1e6 * per_pixel[(w, h)]:.2f} us per input pixel",
              flush=True)
    print(f"per-pixel cost 640x360 / 160x120: {per_pixel[(640, 360)] / per_pixel[(160, 120)]:.2f} (target <= 1.5)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="basicvsr")
    parser.add_argument("--weights", default=None, help="weights tag or file (default: the model's default)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--variants", nargs="+", default=["fp32+cl", "bf16", "bf16+cl", "auto"])
    parser.add_argument("--size", nargs="+", default=["160x90"], help="input WxH")
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--e2e-frames", type=int, default=0, help="also time file -> file on a clip of N frames")
    parser.add_argument("--done-checks", nargs="?", const="all", choices=["all", "e2e", "pixel"],
                        help="print issue 12's acceptance figures (all, or only the end-to-end or per-pixel one)")
    args = parser.parse_args()
    if args.done_checks:
        if args.done_checks in ("all", "e2e"):
            end_to_end_check(args)
        if args.done_checks in ("all", "pixel"):
            per_pixel_check(args)
    else:
        table(args)


if __name__ == "__main__":
    main()
