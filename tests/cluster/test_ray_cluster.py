"""Upscaling on a real Ray cluster of two nodes on this machine (``ray.cluster_utils.Cluster``: a head and a worker
node, one CPU each, started and stopped here): several inputs cut into segments, joined without re-encoding; a worker
killed mid-segment; frames equal to a one-machine run.

Frames are compared through lossless FFV1 outputs. The segments lie on the chunk grid, so every model call is the one
a one-machine run makes on the same frames: equal up to the rounding tolerance of issue 24 (exact on one CPU, where
both run the same kernels; a cluster of different CPUs may pick other kernels).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'wildvsr[cluster]')")

from ray.cluster_utils import Cluster  # noqa: E402

from helpers.cli import cli_env, wildvsr_cmd  # noqa: E402
from helpers.frames import assert_frames_close  # noqa: E402
from helpers.media import read_frames_and_times, synthetic_frames, write_clip  # noqa: E402
from helpers.models import save_tiny_model  # noqa: E402
from wildvsr.cluster.ray_engine import segment_folder, upscale_on_cluster, worker_file  # noqa: E402
from wildvsr.inference import UpscaleConfig, upscale_video  # noqa: E402

NODE = {"num_cpus": 1, "object_store_memory": 80 * 2**20}
pytestmark = pytest.mark.usefixtures("cluster")


@pytest.fixture(scope="module")
def cluster():
    """A head node and one worker node, one CPU each; torn down after the module."""
    c = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    c.add_node(**NODE)
    ray.init(address=c.address, logging_level="ERROR", log_to_driver=False)
    yield c
    ray.shutdown()
    c.shutdown()


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("w") / "basicvsr_tiny.safetensors")


def config(weights: Path, **kw) -> UpscaleConfig:
    return UpscaleConfig(model="basicvsr", weights=str(weights), device="cpu", precision="fp32", chunk_size=6,
                         overlap=3, **kw)


def packets(path: Path, kind: str) -> list[tuple[float, bytes]]:
    import av

    with av.open(str(path)) as c:
        streams = c.streams.audio if kind == "audio" else c.streams.video
        return [(float(p.pts * p.time_base), bytes(p)) for p in c.demux(streams[0]) if p.size] if streams else []


def test_several_inputs_on_two_nodes_equal_the_one_machine_run(weights, tmp_path):
    # Matroska throughout: AAC's priming shifts a Matroska file's timestamps by 21 ms, so an mp4 source would not
    # compare exactly with its mkv outputs (FFV1 does not go into mp4)
    long_clip = write_clip(tmp_path / "long.mkv", synthetic_frames(40, 24, 32, seed=1), fps=25, audio=True)
    short_clip = write_clip(tmp_path / "short.mkv", synthetic_frames(9, 24, 32, seed=2), fps=30)
    cfg = config(weights, codec="ffv1")
    pairs = [(long_clip, tmp_path / "long_x4.mkv"), (short_clip, tmp_path / "short_x4.mkv")]
    lines: list[str] = []
    result = upscale_on_cluster(pairs, cfg, segment_frames=12, log=lines.append)
    assert sorted(result.done) == sorted(src for src, _ in pairs) and not result.failed, lines
    assert sum("segment" in line and "done on" in line for line in lines) == 4 + 1  # 40 frames: 12+12+16; 9: 1
    for src, out in pairs:
        local = upscale_video(src, tmp_path / f"local_{out.name}", cfg)
        got, times = read_frames_and_times(out)
        ref, ref_times = read_frames_and_times(local)
        _, src_times = read_frames_and_times(src)
        assert times == src_times == ref_times  # every frame, with the source's timestamps
        assert_frames_close(got, ref)
        assert packets(out, "audio") == (packets(src, "audio") if src is long_clip else [])
        assert not segment_folder(out).exists()


def test_joined_h264_segments_keep_count_timestamps_and_audio(weights, tmp_path):
    """The default codec (x264 with B-frames): parts are joined by remuxing, every frame and the audio kept."""
    src = write_clip(tmp_path / "in.mp4", synthetic_frames(30, 24, 32, seed=3), fps=24, audio=True)
    out = tmp_path / "out.mp4"
    result = upscale_on_cluster([(src, out)], config(weights), segment_frames=12)
    assert result.done == [src]
    _, times = read_frames_and_times(out)
    _, src_times = read_frames_and_times(src)
    assert times == src_times
    assert packets(out, "audio") == packets(src, "audio")


def test_a_worker_killed_mid_segment_is_retried_and_the_output_is_complete(weights, tmp_path):
    """SIGKILL the worker process of the first segment once it has finished a chunk: Ray reruns the task, which
    resumes the part from its saved chunks; the output equals an undisturbed run."""
    src = write_clip(tmp_path / "in.mkv", synthetic_frames(36, 96, 128, seed=4), fps=25)
    cfg = config(weights, codec="ffv1")
    out = tmp_path / "out.mkv"
    folder = segment_folder(out)
    killed: list[int] = []

    def kill_first_worker() -> None:
        part = folder / "part_00000.mkv"
        manifest = part.parent / f".{part.name}.wildvsr-work" / "manifest.json"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            try:
                chunks = json.loads(manifest.read_text()).get("chunks", {})
                pid = json.loads(worker_file(part).read_text())["pid"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.02)
                continue
            if chunks:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            time.sleep(0.02)

    killer = threading.Thread(target=kill_first_worker)
    killer.start()
    lines: list[str] = []
    result = upscale_on_cluster([(src, out)], cfg, segment_frames=18, log=lines.append)
    killer.join()
    assert killed, "the first segment finished before it could be killed"
    assert result.done == [src], lines
    assert not any(f"pid {killed[0]}" in line for line in lines)
    got, times = read_frames_and_times(out)
    ref, _ = read_frames_and_times(upscale_video(src, tmp_path / "local.mkv", cfg))
    assert got.shape[0] == 36
    assert_frames_close(got, ref)


def cli(args: list[str], address: str, **popen) -> subprocess.Popen:
    """``wildvsr upscale ... --cluster ray`` as a user runs it, attached to the test cluster through RAY_ADDRESS."""
    return subprocess.Popen(wildvsr_cmd("upscale", *args, "--cluster", "ray"), env=cli_env({"RAY_ADDRESS": address}),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, **popen)


def model_args(weights: Path) -> list[str]:
    return ["--model", "basicvsr", "--weights", str(weights), "--device", "cpu", "--precision", "fp32",
            "--chunk-size", "6", "--overlap", "3", "--codec", "ffv1"]


def test_a_killed_driver_is_rerun_and_skips_the_finished_segments(cluster, weights, tmp_path):
    """SIGKILL the driver once a segment is finished: Ray stops its tasks; the same command again skips the finished
    parts (no "done" line for them), resumes the rest, and the output equals a one-machine run."""
    src = write_clip(tmp_path / "in.mkv", synthetic_frames(48, 96, 128, seed=5), fps=25)
    out = tmp_path / "out.mkv"
    args = [str(src), str(out), *model_args(weights), "--segment-frames", "12"]
    driver = cli(args, cluster.address)
    folder = segment_folder(out)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not list(folder.glob("part_*.mkv")) and driver.poll() is None:
        time.sleep(0.05)
    driver.kill()
    driver.communicate()
    finished = sorted(int(p.stem.split("_")[1]) for p in folder.glob("part_*.mkv"))
    assert finished and len(finished) < 4, "kill the driver between its first and its last segment"
    rerun = cli(args, cluster.address)
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr
    done_again = [int(line.split("segment ")[1].split("/")[0]) - 1 for line in stderr.splitlines() if " done on " in line]
    assert not set(done_again) & set(finished) and len(done_again) <= 4 - len(finished), stderr
    got, _ = read_frames_and_times(out)
    ref, _ = read_frames_and_times(upscale_video(src, tmp_path / "local.mkv", config(weights, codec="ffv1")))
    assert_frames_close(got, ref)


def test_many_inputs_on_the_cluster_report_a_broken_one_and_do_the_rest(cluster, weights, tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    write_clip(clips / "a.mkv", synthetic_frames(8, 24, 32, seed=6), fps=25)
    write_clip(clips / "b.mkv", synthetic_frames(7, 24, 32, seed=7), fps=25)
    (clips / "broken.mkv").write_text("not a video")
    out = tmp_path / "out"
    run = cli([str(clips), str(out), *model_args(weights)], cluster.address)
    _, stderr = run.communicate(timeout=300)
    failed = [line for line in stderr.splitlines() if line.startswith("FAILED")]
    assert run.returncode == 1 and len(failed) == 1 and "broken.mkv" in failed[0], stderr
    assert sorted(p.name for p in out.iterdir()) == ["a.mkv", "b.mkv"]
    assert read_frames_and_times(out / "a.mkv")[0].shape == (8, 96, 128, 3)
    assert "2 done, 0 skipped, 1 failed" in stderr
    # stderr is not a terminal: one closing line for all frames the cluster ran (8 + 7), before the summary
    closing = stderr.splitlines()[-2]
    assert closing.startswith("upscaling (cluster): 15 frames in ") and closing.endswith(f" fps) -> {out}"), stderr
