"""Throughput of ``upscale --cluster ray`` with 1 and 2 worker nodes on this machine, the per-segment overhead, and the
share of frames recomputed as segment context, measured terms for README's projection to N GPUs (issue 28).

Each worker node gets one CPU (one segment at a time, one PyTorch thread), so 1 vs 2 nodes is 1 vs 2 cores. The
per-segment overhead (task start, model load, seek, encoder set-up, and its share of the join) is fitted from segment
times of two segment lengths: ``seconds = overhead + frames * seconds_per_frame``. The recomputed share is counted
from the plan (frames each segment computes only as context / frames it outputs), not timed.

    python benchmarks/cluster_scaling.py --model rcvsr.wild --frames 96 --size 96x64
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from wildvsr_testing import synthetic_frames, write_clip  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="rcvsr.wild")
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--size", default="96x64", help="WxH of the synthetic input")
    parser.add_argument("--segments", default="24,48", help="two segment lengths for the overhead fit")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()

    import ray
    from ray.cluster_utils import Cluster

    from wildvsr.cluster.plan import plan_segments
    from wildvsr.cluster.ray_engine import plan_input, segment_folder, upscale_on_cluster
    from wildvsr.inference import UpscaleConfig

    width, height = (int(v) for v in args.size.split("x"))
    lengths = [int(v) for v in args.segments.split(",")]
    work = Path(tempfile.mkdtemp(prefix="wildvsr-cluster-bench-"))
    src = write_clip(work / "in.mkv", synthetic_frames(args.frames, height, width, seed=0), codec="ffv1",
                     pix_fmt="bgr0")
    cfg = UpscaleConfig(model=args.model, device="cpu", precision="fp32", codec="ffv1")
    results: dict = {"model": args.model, "frames": args.frames, "size": args.size, "runs": []}

    for nodes in (1, 2):
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 80 * 2**20,
                                                                  "include_dashboard": False})
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=1, object_store_memory=80 * 2**20)
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
        try:
            for length in lengths:
                out = work / f"out_{nodes}_{length}.mkv"
                lines: list[str] = []
                began = time.monotonic()
                result = upscale_on_cluster([(src, out)], cfg, segment_frames=length, log=lines.append)
                wall = time.monotonic() - began
                assert result.done == [src], lines
                seg_seconds = [float(line.rsplit(" in ", 1)[1].split()[0]) for line in lines if " done on " in line]
                seg_frames = [int(b) - int(a) + 1 for a, b in
                              (line.split("(frames ")[1].split(")")[0].split("-") for line in lines
                               if " done on " in line)]
                run = {"nodes": nodes, "segment_frames": length, "wall_s": wall, "fps": args.frames / wall,
                       "segments": len(seg_seconds), "segment_seconds": seg_seconds, "segment_output_frames": seg_frames}
                results["runs"].append(run)
                print(json.dumps(run), flush=True)
                assert not segment_folder(out).exists()
        finally:
            ray.shutdown()
            cluster.shutdown()

    # per-segment overhead: seconds = a + b * computed frames, over all single-node segments
    plan = plan_input(src, work / "probe.mkv", cfg)
    context = (plan.lead_in, plan.right_context)
    xs, ys = [], []
    for run in results["runs"]:
        if run["nodes"] == 1:
            for frames, seconds in zip(run["segment_output_frames"], run["segment_seconds"]):
                xs.append(frames)
                ys.append(seconds)
    b, a = np.polyfit(np.array(xs, float), np.array(ys, float), 1)
    results["seconds_per_frame"] = float(b)
    results["overhead_s_per_segment"] = float(a)
    results["lead_in"], results["right_context"] = context
    shares = {}
    for length in (48, 96, 192, 384, 768):
        segs = plan_segments(10_000, length, plan.config.chunk_size, context[0])
        recomputed = sum(min(s.start, context[0]) + min(10_000 - s.stop, context[1]) for s in segs)
        shares[length] = recomputed / 10_000
    results["recomputed_share"] = shares
    import shutil

    shutil.rmtree(segment_folder(work / "probe.mkv"), ignore_errors=True)
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=1))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
