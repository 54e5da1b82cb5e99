"""Throughput of ``upscale --cluster ray`` with 1 and 2 worker nodes on this machine, the per-segment overhead, and the
share of frames segments compute beyond a one-machine run: the measured terms of README's projection to N GPUs
(issue 28).

Each worker node gets one CPU (one segment at a time, one PyTorch thread), so 1 vs 2 nodes is 1 vs 2 cores. The
per-segment overhead is measured two ways on runs without temporal overlap (every frame a segment computes is one it
outputs): inside a task (start, seek, encoder set-up: the intercept of ``seconds = overhead + frames * per_frame``
over segments of two lengths) and end to end (scheduling, task start and the join's share: the wall time one segment
more costs, the frames being equal). The extra share is counted from the plan, not timed: none for a video model
(segment seams are chunk seams, whose context a one-machine run computes too), a per-frame model's stabilizer warm-up
per segment.

    python benchmarks/cluster_scaling.py --model rcvsr.wild --frames 192 --size 96x64
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test helpers: tests/helpers

from helpers.media import synthetic_frames, write_clip  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="rcvsr.wild")
    parser.add_argument("--frames", type=int, default=192)
    parser.add_argument("--size", default="96x64", help="WxH of the synthetic input")
    parser.add_argument("--segments", default="24,96", help="two segment lengths for the overhead fit")
    parser.add_argument("--chunk-size", type=int, default=24, help="chunk length (segments are whole chunks)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()

    import ray
    from ray.cluster_utils import Cluster

    from wildvsr.cluster.ray_engine import plan_input, segment_folder, upscale_on_cluster
    from wildvsr.inference import UpscaleConfig

    width, height = (int(v) for v in args.size.split("x"))
    lengths = [int(v) for v in args.segments.split(",")]
    work = Path(tempfile.mkdtemp(prefix="wildvsr-cluster-bench-"))
    src = write_clip(work / "in.mkv", synthetic_frames(args.frames, height, width, seed=0), codec="ffv1",
                     pix_fmt="bgr0")
    cfg = UpscaleConfig(model=args.model, device="cpu", precision="fp32", codec="ffv1", chunk_size=args.chunk_size)
    results: dict = {"model": args.model, "frames": args.frames, "size": args.size, "runs": []}

    fit_cfg = dataclasses.replace(cfg, overlap=0)
    for nodes, run_cfg in ((1, fit_cfg), (1, cfg), (2, cfg)):
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 80 * 2**20,
                                                                  "include_dashboard": False})
        for _ in range(nodes - 1):
            cluster.add_node(num_cpus=1, object_store_memory=80 * 2**20)
        ray.init(address=cluster.address, logging_level="ERROR", log_to_driver=False)
        try:
            for length in lengths:
                out = work / f"out_{nodes}_{length}_{run_cfg.overlap}.mkv"
                lines: list[str] = []
                began = time.monotonic()
                result = upscale_on_cluster([(src, out)], run_cfg, segment_frames=length, log=lines.append)
                wall = time.monotonic() - began
                assert result.done == [src], lines
                seg_seconds = [float(line.rsplit(" in ", 1)[1].split()[0]) for line in lines if " done on " in line]
                seg_frames = [(int(a), int(b) + 1) for a, b in
                              (line.split("(frames ")[1].split(")")[0].split("-") for line in lines
                               if " done on " in line)]
                run = {"nodes": nodes, "overlap": run_cfg.overlap, "segment_frames": length, "wall_s": wall, "fps": args.frames / wall,
                       "segments": len(seg_seconds), "segment_seconds": seg_seconds, "segment_output_frames": seg_frames}  # frames [a, b)
                results["runs"].append(run)
                print(json.dumps(run), flush=True)
                assert not segment_folder(out).exists()
        finally:
            ray.shutdown()
            cluster.shutdown()

    # per-segment overhead: seconds = a + b * frames, from the runs without overlap
    plan = plan_input(src, work / "probe.mkv", cfg)
    context = (plan.lead_in, plan.right_context)
    xs, ys = [], []
    for run in results["runs"]:
        if run["overlap"] == 0:
            for (a, b), seconds in zip(run["segment_output_frames"], run["segment_seconds"]):
                xs.append(b - a)
                ys.append(seconds)
    b, a = np.polyfit(np.array(xs, float), np.array(ys, float), 1)
    results["seconds_per_frame"] = float(b)
    results["overhead_s_per_segment_in_task"] = float(a)
    # end to end (scheduling, task start, the join's share): the wall time a segment more costs, frames being equal
    fit_runs = [r for r in results["runs"] if r["overlap"] == 0]
    short, long_ = min(fit_runs, key=lambda r: r["segment_frames"]), max(fit_runs, key=lambda r: r["segment_frames"])
    results["overhead_s_per_segment_end_to_end"] = (short["wall_s"] - long_["wall_s"]) / (short["segments"]
                                                                                         - long_["segments"])
    scaling = {r["segment_frames"]: r["fps"] for r in results["runs"] if r["overlap"] != 0 and r["nodes"] == 2}
    results["speedup_2_nodes"] = {length: fps / next(r["fps"] for r in results["runs"] if r["overlap"] != 0
                                                     and r["nodes"] == 1 and r["segment_frames"] == length)
                                  for length, fps in scaling.items()}
    results["lead_in"], results["right_context"] = context
    results["fps_by_segment_length_1_node"] = {r["segment_frames"]: r["fps"] for r in results["runs"]
                                               if r["overlap"] != 0 and r["nodes"] == 1}
    # frames computed beyond a one-machine run: none for a video model (segment seams are chunk seams); a per-frame
    # model's stabilizer warm-up (fusion's, as the example) per segment
    from wildvsr.inference.stabilizer_settings import STABILIZERS

    warmup = STABILIZERS["fusion"].warmup_frames
    shares = {"video_model": 0.0, **{f"per_frame_fusion_{length}": warmup / length for length in (96, 192, 264, 480)}}
    results["recomputed_share"] = shares
    import shutil

    shutil.rmtree(segment_folder(work / "probe.mkv"), ignore_errors=True)
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=1))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
