"""``wildvsr degrade``: same seed same bytes, params JSON provenance, gallery, atomic refusal, and Vid4 calendar."""

import json

import pytest
import yaml
from helpers.media import read_frames, synthetic_frames, write_clip
from helpers.shared_data import shared_path

from wildvsr.cli import main


def _run(*args):
    with pytest.raises(SystemExit) as e:
        main(["degrade", *map(str, args), "--quiet"])
    return e.value.code


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("src")
    return write_clip(d / "src.mkv", synthetic_frames(12, 96, 128), codec="ffv1", pix_fmt="bgr0")


def test_same_seed_same_bytes_different_seed_differs(clip, tmp_path):
    outs = {}
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        dst = tmp_path / f"{name}.mp4"
        assert _run(clip, dst, "--preset", "realbasicvsr", "--seed", seed, "--chunk-size", 5) == 0
        rec = json.loads((tmp_path / f"{name}.params.json").read_text())
        outs[name] = (dst.read_bytes(), json.dumps({k: v for k, v in rec.items() if k != "output"}))
    assert outs["a"] == outs["b"]
    assert outs["a"][0] != outs["c"][0] and outs["a"][1] != outs["c"][1]
    lq = read_frames(tmp_path / "a.mp4")
    assert lq.shape == (12, 24, 32, 3)


def test_params_json_records_every_frame_and_the_encoder(clip, tmp_path):
    dst, pj, gal = tmp_path / "lq", tmp_path / "p.json", tmp_path / "g.png"
    assert _run(clip, dst, "--preset", "vcisr", "--seed", 3, "--params-out", pj, "--gallery", gal) == 0
    assert len(sorted(dst.glob("*.png"))) == 12  # frame-folder output
    rec = json.loads(pj.read_text())
    assert rec["preset"] == "vcisr" and rec["num_frames"] == 12 and rec["output_size"] == [32, 24]
    clipp = rec["params"]["clips"][0]
    assert len(clipp["stages"][0]["blur"]["sigma_x"]) == 12
    codec = clipp["final"]["codec"] or {}
    if not clipp["final"]["alt"]:
        assert {"encoder", "crf", "bitrate", "preset", "fps", "width_ratio"} <= set(codec)
    from PIL import Image
    with Image.open(gal) as g:
        assert g.size[0] > 512 and g.size[1] > 256


def test_refuses_existing_output_and_bad_preset(clip, tmp_path, capsys):
    dst = tmp_path / "x.mp4"
    dst.write_bytes(b"keep")
    assert _run(clip, dst) == 2
    assert dst.read_bytes() == b"keep"
    assert _run(clip, tmp_path / "y.mp4", "--preset", "nope") == 2
    assert "unknown degradation preset" in capsys.readouterr().err
    assert not (tmp_path / "y.mp4").exists()


@pytest.mark.slow
def test_vid4_calendar_realbasicvsr(tmp_path):
    src = shared_path("hr_eval", "vid4", "calendar.mkv")
    dst = tmp_path / "lq.mp4"
    assert _run(src, dst, "--preset", "realbasicvsr", "--seed", 0, "--gallery", tmp_path / "g.png",
                "--max-frames", 4) == 0
    lq = read_frames(dst)
    assert lq.shape == (4, 144, 180, 3)
    rec = json.loads((tmp_path / "lq.params.json").read_text())
    assert rec["input_size"] == [720, 576] and rec["params"]["clips"][0]["stages"][0]["codec"]["encoder"] in (
        "libx264", "mpeg4")


def test_preset_typo_exits_2_naming_key_and_allowed_values(clip, tmp_path, capsys):
    from wildvsr.degrade import load_preset

    data = load_preset("realbasicvsr").to_dict()
    data["stages"][0]["jpeg"]["backend"] = "torchh"
    preset = tmp_path / "typo.yaml"
    preset.write_text(yaml.safe_dump(data))
    capsys.readouterr()
    assert _run(clip, tmp_path / "out.mp4", "--preset", preset) == 2
    err = capsys.readouterr().err
    assert "stages[0].jpeg.backend: 'torchh' is not one of 'libjpeg', 'torch'" in err
    assert "Traceback" not in err and not (tmp_path / "out.mp4").exists()
