"""Warping error per frame on a real clip: where flicker happens, not only how much on average (issue 27).

For each method, the error of every consecutive output pair (``wildvsr.metrics.warping.warping_error``, 0-255
scale), all methods measured against the same flows: SPyNet on the bicubic-x4 input, as
``benchmarks/realworld_default.py`` does for real clips. Per-frame models run once (fp32, outputs cached under
``--out``) and the stabilizer is applied to that output; video models run through the Upscaler. Writes a plot and a
JSON of the values.

    python benchmarks/warping_per_frame.py --clip videolq_000 --crop 96 --frames 24 \
        --video-models rcvsr.wild --plot docs/rcvsr_warping_per_frame.png
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realworld_default import DATA, SharedFlow, label, run_per_frame, run_video  # noqa: E402

from wildvsr.evaluate.datasets import load_frames  # noqa: E402
from wildvsr.evaluate.methods import bicubic_x4  # noqa: E402
from wildvsr.metrics.warping import warping_error  # noqa: E402
from wildvsr.utils.frames import to_frames, to_tensor  # noqa: E402


def outputs(lq: np.ndarray, per_frame: list[str], settings: list[str], video: list[str],
            cache: Path) -> dict[str, np.ndarray]:
    """uint8 outputs ``(T, 4h, 4w, 3)`` of every method (raw per-frame outputs cached in ``cache``)."""
    from wildvsr.inference.stabilizer import build_stabilizer

    out: dict[str, np.ndarray] = {}
    for model in per_frame:
        path = cache / f"{model}.npz"
        if not path.exists():
            np.savez(path, out=run_per_frame(model, lq)[0])
        raw = torch.from_numpy(np.load(path)["out"])
        out[model] = to_frames(raw)
        for setting in settings:
            out[f"{model}+{setting}"] = to_frames(build_stabilizer(setting, "cpu")(to_tensor(lq), raw))
    for spec in video:
        out[label(spec)] = run_video(lq, spec)[0]
    return out


def plot(values: dict[str, list[float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=110)
    for name, v in values.items():
        ax.plot(range(1, len(v) + 1), v, marker="o", markersize=3, label=f"{name} (mean {np.mean(v):.2f})")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_xlabel("frame pair (t-1, t)")
    ax.set_ylabel("warping error (0-255)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clip", default="videolq_000", help="a clip of real_lq (a folder name or dove_demo/NAME)")
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--models", default="rrdbnet.x4plus")
    parser.add_argument("--stabilizers", default="fusion")
    parser.add_argument("--video-models", default="rcvsr.wild")
    parser.add_argument("--out", type=Path, default=Path("scratch/warping_per_frame"))
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    split = (lambda s: [x for x in s.split(",") if x])
    cache = args.out / f"{args.clip.replace('/', '_')}_{args.crop}_{args.frames}"
    cache.mkdir(parents=True, exist_ok=True)
    lq = np.ascontiguousarray(load_frames(DATA / "real_lq" / args.clip, max_frames=args.frames, crop=args.crop))
    flow = SharedFlow(cache / "flows.pt")
    reference = bicubic_x4(lq)
    values = {}
    for name, out in outputs(lq, split(args.models), split(args.stabilizers), split(args.video_models),
                             cache).items():
        values[name] = [float(v) for v in warping_error(out, reference, flow_fn=flow, per_pair=True)[1]]
        print(f"{name}: mean {np.mean(values[name]):.3f}, max {np.max(values[name]):.3f}", flush=True)
    flow.save()
    (cache / "warping_per_frame.json").write_text(json.dumps(values, indent=1))
    if args.plot:
        plot(values, args.plot, f"real clip {args.clip}, {args.crop}x{args.crop} crop, {len(lq)} frames")


if __name__ == "__main__":
    main()
