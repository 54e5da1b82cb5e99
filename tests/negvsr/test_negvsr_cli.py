"""``wildvsr extract-noise`` and ``wildvsr negmix-gallery``: summary, exit codes, galleries."""

from __future__ import annotations

import numpy as np
import pytest
from helpers.negvsr import flat_and_textured_clip, write_png_folder
from PIL import Image

from wildvsr.cli import main


def _run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


@pytest.fixture()
def frames_dir(tmp_path):
    return write_png_folder(tmp_path / "frames", flat_and_textured_clip(6))


def test_extract_noise_summary_and_gallery(frames_dir, tmp_path, capsys):
    bank, gallery = tmp_path / "bank", tmp_path / "g.png"
    code, out, err = _run(["extract-noise", str(frames_dir), "--out", str(bank), "--length", "3",
                           "--gallery", str(gallery)], capsys)
    assert code == 0, err
    assert "clips of 3 frames: 2" in out
    assert "windows scanned: 16 (64x64, grid paper), kept: 8" in out
    assert "rejected: frame_variance 8, frame_mean 0, variance_of_variance 0, variance_of_mean 0" in out
    assert (bank / "index.json").is_file()
    img = Image.open(gallery)
    assert img.size[0] > 5 * 64 and img.size[1] > 4 * 64

    png = tmp_path / "negmix.png"
    code, out, err = _run(["negmix-gallery", str(frames_dir), "--bank", str(bank), "--out", str(png)], capsys)
    assert code == 0, err
    arr = np.asarray(Image.open(png))
    assert arr.shape[1] > 11 * 64 * 3 and arr.shape[0] > 5 * 64 * 3


@pytest.mark.parametrize("args, message", [
    (["/no/such/video.mp4"], "does not exist"),
    (["FRAMES", "--grid", "diagonal"], "grid must be"),
    (["FRAMES", "--length", "50"], "no 50-frame clip"),
    (["FRAMES", "--window", "512", "--length", "3"], "smaller than the 512-pixel window"),
])
def test_extract_noise_bad_input_exits_2(frames_dir, tmp_path, capsys, args, message):
    args = [str(frames_dir) if a == "FRAMES" else a for a in args]
    code, _, err = _run(["extract-noise", *args, "--out", str(tmp_path / "bank")], capsys)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "bank").exists()


def test_extract_noise_refuses_existing_output(frames_dir, tmp_path, capsys):
    (tmp_path / "bank").mkdir()
    code, _, err = _run(["extract-noise", str(frames_dir), "--out", str(tmp_path / "bank"), "--length", "3"], capsys)
    assert code == 2 and "--overwrite" in err
