"""Issue 13: one test per defect found by the bad-input and kill campaign (each failed before its fix)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers.cli import error_lines, run_wildvsr
from helpers.media import synthetic_frames, write_clip
from helpers.models import save_tiny_model

from wildvsr.errors import InputError
from wildvsr.video import VideoReader, VideoWriter


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> Path:
    return save_tiny_model(tmp_path_factory.mktemp("weights") / "basicvsr_tiny.safetensors")


# -- 1. odd output sizes ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("codec,pix_fmt", [("ffv1", None), ("libx264", "yuv444p"), ("libx264", None)])
def test_odd_sizes_are_written_by_formats_that_hold_them(tmp_path, codec, pix_fmt):
    frames = synthetic_frames(2, 9, 13)
    out = tmp_path / "odd.mkv"
    with VideoWriter(out, fps=25, codec=codec, pix_fmt=pix_fmt) as writer:
        for img in frames:
            writer.write(img)
    with VideoReader(out) as reader:
        assert (reader.info.width, reader.info.height) == (13, 9) and reader.count_frames() == 2


def test_odd_size_with_explicit_420_is_refused_without_naming_a_missing_option(tmp_path):
    with pytest.raises(InputError, match="odd side") as err, VideoWriter(tmp_path / "o.mp4", pix_fmt="yuv420p") as w:
        w.write(np.zeros((9, 13, 3), np.uint8))
    assert "--pix-fmt" not in str(err.value)
    assert not list(tmp_path.iterdir())


def test_degrade_to_an_odd_size(tmp_path):
    src = write_clip(tmp_path / "in_52x32.mp4", synthetic_frames(3, 32, 52))
    run = run_wildvsr("degrade", src, tmp_path / "out.mp4", "--preset", "bicubic")
    assert run.returncode == 0, run.stderr
    with VideoReader(tmp_path / "out.mp4") as reader:
        assert (reader.info.width, reader.info.height) == (13, 8)


def test_upscale_odd_size_with_ffv1(tmp_path, tiny_weights):
    src = write_clip(tmp_path / "odd_47x33.mkv", synthetic_frames(3, 33, 47), pix_fmt="yuv444p")
    dst = tmp_path / "out.mkv"
    run = run_wildvsr("upscale", src, dst, "--scale", "3", "--codec", "ffv1", "--model", "basicvsr", "--weights", tiny_weights,
                  "--device", "cpu", "--chunk-size", "2", "--overlap", "1")
    assert run.returncode == 0, run.stderr
    with VideoReader(dst) as reader:
        assert (reader.info.width, reader.info.height) == (141, 99) and reader.count_frames() == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd_47x33.mkv", "out.mkv"]


# -- 4. encoder options checked before any frame -------------------------------------------------------------------
@pytest.mark.parametrize("kwargs,match", [
    ({"preset": "ultraslowest"}, "ultrafast, superfast"),
    ({"crf": 99}, "0-51"),
    ({"crf": -1}, "0-51"),
    ({"codec": "libvpx-vp9", "crf": 64}, "0-63"),
    ({"codec": "mpeg4", "crf": 40}, "2-31"),
    ({"codec": "ffv1", "crf": 10}, "lossless"),
    ({"pix_fmt": "nv99"}, "yuv420p"),
    ({"codec": "mpeg4", "pix_fmt": "yuv444p"}, "yuv420p"),
    ({"codec": "libsvtav1", "preset": "fast"}, "0-13"),
])
def test_encoder_options_are_refused_at_construction(tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        VideoWriter(tmp_path / "o.mkv", fps=25, **kwargs)  # no frame written: refused before any work
    assert not list(tmp_path.iterdir())


def test_upscale_refuses_a_bad_preset_before_any_frame(tmp_path, tiny_weights):
    src = write_clip(tmp_path / "good.mp4", synthetic_frames(3, 32, 32))
    for opts, match in ((["--preset", "ultraslowest"], "ultrafast"), (["--crf", "99"], "0-51")):
        run = run_wildvsr("upscale", src, tmp_path / "out.mp4", "--model", "basicvsr", "--weights", tiny_weights, "--device", "cpu", *opts)
        assert run.returncode == 2, run.stderr
        lines = error_lines(run.stderr)
        assert len(lines) == 1 and match in lines[0] and "avcodec_open2" not in lines[0], run.stderr
        assert sorted(p.name for p in tmp_path.iterdir()) == ["good.mp4"]


# -- 5. unknown output extension -------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["out.xyz", "out.mp5", "clip.mkv2"])
def test_unknown_output_extension_is_an_error(tmp_path, name):
    with pytest.raises(InputError, match=r"\.mkv.*\.mp4.*folder") as err:
        VideoWriter(tmp_path / name, fps=25)
    assert name.rsplit(".", 1)[1] in str(err.value)
    assert not list(tmp_path.iterdir())


def test_folder_outputs_are_paths_without_extension_or_existing_folders(tmp_path):
    (tmp_path / "frames.v2").mkdir()
    for target in (tmp_path / "frames", tmp_path / "frames.v2"):
        with VideoWriter(target, fps=25, overwrite=True) as writer:
            writer.write(np.zeros((8, 8, 3), np.uint8))
        assert (target / "00000000.png").is_file()


def test_upscale_to_an_unknown_extension(tmp_path, tiny_weights):
    src = write_clip(tmp_path / "good.mp4", synthetic_frames(3, 32, 32))
    run = run_wildvsr("upscale", src, tmp_path / "out.xyz", "--model", "basicvsr", "--weights", tiny_weights, "--device", "cpu")
    assert run.returncode == 2 and len(error_lines(run.stderr)) == 1 and ".xyz" in run.stderr, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.mp4"]


# -- 2. stale partials of killed runs -------------------------------------------------------------------------------
def test_stale_partials_of_the_same_output_are_removed_live_ones_kept(tmp_path):
    from wildvsr.utils.files import atomic_path

    # What a kill -9 leaves: a partial file, a partial frame folder; plus look-alikes of other outputs.
    stale_file = tmp_path / ".out.k3j_9x0a.partial.mp4"
    stale_file.write_bytes(b"half a video")
    stale_dir = tmp_path / ".frames.a1b2c3d4.partial"
    stale_dir.mkdir()
    (stale_dir / "00000000.png").write_bytes(b"png")
    others = [tmp_path / ".out2.k3j_9x0a.partial.mp4", tmp_path / ".out.k3j_9x0a.partial.mkv", tmp_path / "out.mp4x"]
    for p in others:
        p.write_bytes(b"keep")
    with atomic_path(tmp_path / "out.mp4", overwrite=True) as live:
        live.write_bytes(b"live")
        with atomic_path(tmp_path / "out.mp4", overwrite=True) as second:  # a concurrent writer of the same output
            assert live.exists()  # locked by its writer: not stale
            second.write_bytes(b"second")
    assert not stale_file.exists()
    with atomic_path(tmp_path / "frames", directory=True) as folder:
        (folder / "00000000.png").write_bytes(b"png")
    assert not stale_dir.exists()
    assert all(p.read_bytes() == b"keep" for p in others)
    assert (tmp_path / "out.mp4").read_bytes() == b"live"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["out.mp4", "frames"] + [p.name for p in others])


# -- 7. progress lines when stderr is not a terminal ----------------------------------------------------------------
def test_log_progress_prints_at_most_once_per_interval(capsys):
    from wildvsr.cli.progress import LogProgress

    now = [100.0]
    log = LogProgress("upscaling", 40, 10.0, clock=lambda: now[0])
    for _ in range(8):  # 5 frames every 3 s
        now[0] += 3
        log(5)
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["upscaling: 20/40 frames (50%), 1.67 fps, ETA 0:00:12",
                     "upscaling: 40/40 frames (100%), 1.67 fps, ETA 0:00:00"]


def test_upscale_logs_progress_lines_into_a_file(tmp_path):
    from helpers.cli import cli_env, wildvsr_cmd
    from helpers.models import save_tiny_weights
    import subprocess

    src = write_clip(tmp_path / "in.mp4", synthetic_frames(6, 32, 32))
    weights = save_tiny_weights(tmp_path / "tiny.safetensors")
    log = tmp_path / "log.txt"
    with open(log, "w") as stderr:  # stderr is a file, as with `wildvsr upscale ... > log 2>&1`
        code = subprocess.run(wildvsr_cmd("upscale", src, tmp_path / "out.mkv", "--model", "tiny", "--weights", weights,
                                          "--chunk-size", "2", "--overlap", "0", tiny=True), stderr=stderr, stdout=stderr,
                              env=cli_env({"WILDVSR_PROGRESS_SECONDS": "0", "TINY_DELAY": "0.05"}, helpers=True),
                              timeout=240).returncode
    *lines, closing = log.read_text().splitlines()
    assert code == 0, lines
    assert [line.split(",")[0] for line in lines] == [f"upscaling: {n}/6 frames ({round(100 * n / 6)}%)"
                                                      for n in (2, 4, 6)]
    assert all(" fps, ETA " in line for line in lines)
    assert closing.startswith("upscaling: 6 frames in ") and closing.endswith(f" fps) -> {tmp_path / 'out.mkv'}")


# -- 6. evaluate: frame counts ------------------------------------------------------------------------------------------
def test_evaluate_refuses_a_reference_of_another_length(tmp_path):
    out = write_clip(tmp_path / "out.mp4", synthetic_frames(8, 32, 32))
    ref = write_clip(tmp_path / "ref.mp4", synthetic_frames(40, 32, 32))
    run = run_wildvsr("evaluate", out, "--reference", ref, "--metrics", "psnr", "--out", tmp_path / "ev")
    assert run.returncode == 2, run.stderr
    lines = error_lines(run.stderr)
    assert len(lines) == 1 and "8 frames" in lines[0] and "40" in lines[0], run.stderr
    assert not (tmp_path / "ev").exists()


def test_evaluate_warping_error_needs_two_frames(tmp_path):
    one = write_clip(tmp_path / "one.mp4", synthetic_frames(1, 32, 32))
    run = run_wildvsr("evaluate", one, "--metrics", "warping_error", "--out", tmp_path / "ev")
    assert run.returncode == 2, run.stderr
    lines = error_lines(run.stderr)
    assert len(lines) == 1 and "warping_error" in lines[0] and "two frames" in lines[0], run.stderr
    assert not (tmp_path / "ev").exists()


# -- 8. nothing on stderr but the one error line, and nothing at all on a normal run --------------------------------
def test_pickle_refusal_is_one_line(tmp_path):
    import pickle

    class Evil:
        def __reduce__(self):
            return (print, ("code ran while loading weights",))

    evil = tmp_path / "evil.pth"
    evil.write_bytes(pickle.dumps({"state_dict": Evil()}, protocol=4))
    src = write_clip(tmp_path / "in.mp4", synthetic_frames(2, 32, 32))
    run = run_wildvsr("upscale", src, tmp_path / "o.mp4", "--model", "basicvsr", "--weights", evil)
    assert run.returncode == 2 and "code ran" not in run.stdout + run.stderr
    lines = error_lines(run.stderr)
    assert len(lines) == 1 and lines[0].startswith("error:") and "refused for safety" in lines[0], run.stderr


def test_normal_runs_print_only_their_closing_line_on_stderr(tmp_path, tiny_weights):
    """No warning or stray output: a long job's stderr (not a terminal) is its closing line, ``info``'s is empty."""
    src = write_clip(tmp_path / "视频 clip.mp4", synthetic_frames(3, 32, 32))  # a CJK name in reports and plots
    runs = [run_wildvsr("upscale", src, tmp_path / "up.mp4", "--model", "basicvsr", "--weights", tiny_weights, "--device", "cpu"),
            run_wildvsr("degrade", src, tmp_path / "lq", "--preset", "bicubic"),
            run_wildvsr("info", src),
            run_wildvsr("evaluate", write_clip(tmp_path / "评估 clip.mp4", synthetic_frames(2, 96, 96)), "--metrics",
                    "niqe,warping_error", "--out", tmp_path / "评估")]
    for run, closing in zip(runs, ("upscaling: 3 frames in ", "degrading: 3 frames in ", None,
                                   "evaluating: 1 sequence in ")):
        assert run.returncode == 0, (run.args, run.stderr)
        if closing is None:
            assert run.stderr == "", (run.args, run.stderr)
        else:
            assert len(run.stderr.splitlines()) == 1 and run.stderr.startswith(closing), (run.args, run.stderr)
    assert (tmp_path / "评估" / "curves_niqe.png").is_file()
