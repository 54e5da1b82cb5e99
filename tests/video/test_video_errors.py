"""Every bad input of issue 2 through the CLI: one clear stderr line, exit code 2, no traceback, no partial output."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import av
import pytest
from helpers.bad_inputs import BAD_INPUTS
from helpers.media import synthetic_frames, write_clip
from helpers.video_reference import raw_decode
from PIL import Image

from wildvsr.cli import main
from wildvsr.errors import VSRError
from wildvsr.video import VideoReader


def run_cli(capsys, *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    return exit_info.value.code, capsys.readouterr().err


def assert_clean_failure(capsys, args, out_dir: Path, match: str) -> None:
    before = set(out_dir.iterdir())
    code, err = run_cli(capsys, *args)
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    assert match in lines[0], lines[0]
    assert set(out_dir.iterdir()) == before, "a partial output was left behind"


@pytest.mark.parametrize("name", list(BAD_INPUTS))
@pytest.mark.parametrize("command", ["info", "convert"])
def test_bad_input_gives_one_line_and_exit_2(tmp_path, capsys, name, command):
    make, match = BAD_INPUTS[name]
    src = make(tmp_path)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    args = ["info", src] if command == "info" else ["convert", src, out_dir / "o.mp4"]
    assert_clean_failure(capsys, args, out_dir, match)
    if command == "info":  # the library raises the same error type
        with pytest.raises(VSRError):
            VideoReader(src)


# -- outputs that must fail ----------------------------------------------------------------------------------------
def test_output_in_missing_folder(tmp_path, capsys, tiny_clip):
    assert_clean_failure(capsys, ["convert", tiny_clip, tmp_path / "nope" / "o.mp4"], tmp_path, "does not exist")


def test_output_in_read_only_folder(tmp_path, capsys, tiny_clip):
    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o500)
    try:
        if os.access(ro, os.W_OK):
            pytest.skip("running as root: a chmod 500 folder stays writable (covered by the /proc test)")
        assert_clean_failure(capsys, ["convert", tiny_clip, ro / "o.mp4"], ro, "not writable")
    finally:
        os.chmod(ro, 0o700)


@pytest.mark.skipif(not Path("/proc/self").exists(), reason="needs Linux /proc (a file system nobody can write)")
def test_output_on_unwritable_file_system(capsys, tiny_clip):
    code, err = run_cli(capsys, "convert", tiny_clip, "/proc/wildvsr-test-out.mp4")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert not Path("/proc/wildvsr-test-out.mp4").exists()


def test_output_equal_to_input(tmp_path, capsys, tiny_clip):
    before = tiny_clip.read_bytes()
    assert_clean_failure(capsys, ["convert", tiny_clip, tiny_clip, "--overwrite"], tmp_path, "is the input")
    assert tiny_clip.read_bytes() == before


def test_existing_output_needs_overwrite(tmp_path, capsys, tiny_clip):
    out = tmp_path / "o.mp4"
    out.write_bytes(b"old")
    assert_clean_failure(capsys, ["convert", tiny_clip, out], tmp_path, "--overwrite")
    assert out.read_bytes() == b"old"
    code, _ = run_cli(capsys, "convert", tiny_clip, out, "--overwrite", "--preset", "ultrafast")
    assert code == 0 and raw_decode(out)[0] == 8


def test_odd_size_with_explicit_yuv420p_fails_cleanly(tmp_path, capsys):
    src = write_clip(tmp_path / "odd.mkv", synthetic_frames(2, 241, 321), codec="ffv1", pix_fmt="bgr0")
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert_clean_failure(capsys, ["convert", src, out_dir / "o.mp4", "--pix-fmt", "yuv420p"], out_dir, "odd side")


# -- inputs that are unusual but valid -----------------------------------------------------------------------------
def test_truncated_faststart_mp4_decodes_what_it_can_and_warns(tmp_path, capsys, caplog):
    full = tmp_path / "fast.mp4"
    frames = synthetic_frames(60, 32, 48)
    with av.open(str(full), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        stream.options = {"preset": "ultrafast", "g": "5"}
        for img in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: int(full.stat().st_size * 0.6)])
    out = tmp_path / "o.mkv"
    with caplog.at_level(logging.WARNING):
        code, err = run_cli(capsys, "convert", cut, out, "--preset", "ultrafast")
    assert code == 0, err
    assert "of the 60 frames the container declares" in caplog.text
    written = raw_decode(out)[0]
    assert 0 < written < 60


@pytest.mark.parametrize("kind", ["gray png", "rgba png", "gray video", "10-bit video", "odd size"])
def test_unusual_valid_inputs_convert(tmp_path, capsys, kind):
    frames = synthetic_frames(3, 24, 32)
    if kind.endswith("png"):
        src = tmp_path / "frames"
        src.mkdir()
        for i, img in enumerate(frames):
            im = Image.fromarray(img).convert("L" if kind == "gray png" else "RGBA")
            im.save(src / f"{i}.png")
    elif kind == "gray video":
        src = write_clip(tmp_path / "g.mkv", frames, codec="ffv1", pix_fmt="gray")
    elif kind == "10-bit video":
        src = write_clip(tmp_path / "p10.mkv", frames, codec="libx264", pix_fmt="yuv420p10le")
    else:
        src = write_clip(tmp_path / "odd.mkv", synthetic_frames(2, 241, 321), codec="ffv1", pix_fmt="bgr0")
    out = tmp_path / "o.mkv"
    code, err = run_cli(capsys, "convert", src, out, "--preset", "ultrafast")
    assert code == 0, err
    with VideoReader(src) as a, VideoReader(out) as b:
        assert (b.info.width, b.info.height) == (a.info.width, a.info.height)
        assert b.info.num_frames == a.info.num_frames
        if kind == "10-bit video":
            assert b.info.bit_depth == 10  # the precision was carried through (read as uint16)
