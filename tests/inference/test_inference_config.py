"""UpscaleConfig validation and the resume work directory (manifest, lossless segments, mismatch errors)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers.media import synthetic_frames
from wildvsr.errors import ConfigError, InputError, OutputExistsError
from wildvsr.inference import UpscaleConfig
from wildvsr.inference.chunking import plan_chunks
from wildvsr.inference.resume import WorkDir, input_fingerprint, work_dir_for
from wildvsr.defaults import DEFAULT_UPSCALE_MODEL


def test_default_model_is_named_once():
    assert DEFAULT_UPSCALE_MODEL == UpscaleConfig().model == "rrdbnet.x4plus"


@pytest.mark.parametrize("kwargs,field", [
    ({"precision": "fp8"}, "precision"), ({"device": "gpu"}, "device"), ({"chunk_size": 0}, "chunk_size"),
    ({"overlap": -1}, "overlap"), ({"tile": 8}, "tile"), ({"scale": 5}, "scale"), ({"scale": True}, "scale"),
    ({"refine_threshold": 300}, "refine_threshold"), ({"crf": -1}, "crf"), ({"chunk_size": 2.5}, "chunk_size"),
])
def test_bad_settings_name_the_field(kwargs, field):
    with pytest.raises(ConfigError, match=field):
        UpscaleConfig(**kwargs)


def test_from_dict_rejects_unknown_keys_and_round_trips():
    cfg = UpscaleConfig(tile=128, scale=2, device="cuda:1")
    assert UpscaleConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="chunksize"):
        UpscaleConfig.from_dict({"chunksize": 4})


def test_pixel_settings_ignore_codec_and_flags():
    a = UpscaleConfig(codec="libx265", overwrite=True, resume=True).pixel_settings()
    assert a == UpscaleConfig().pixel_settings()
    assert a != UpscaleConfig(overlap=2).pixel_settings()


def _workdir(tmp_path, settings=None, src=None):
    src = src or tmp_path / "in.mp4"
    if not src.exists():
        src.write_bytes(b"x" * 10)
    return WorkDir(tmp_path / "out.mp4", input_fingerprint(src, 10), settings or {"overlap": 2})


def test_segments_round_trip_losslessly(tmp_path):
    work = _workdir(tmp_path)
    assert work.open(resume=False) == 0
    assert work.path == work_dir_for(tmp_path / "out.mp4") == tmp_path / ".out.mp4.wildvsr-work"
    spec = plan_chunks(10, 4, 2)[1]
    frames = np.random.default_rng(0).integers(0, 256, (4, 20, 28, 3), dtype=np.uint8)  # noise: worst case
    work.save_chunk(spec, frames)
    again = _workdir(tmp_path)
    assert again.open(resume=True) == 1 and again.has(1) and not again.has(0)
    np.testing.assert_array_equal(again.load_chunk(spec), frames)
    again.remove()
    assert not work.path.exists()


def test_existing_work_dir_needs_resume(tmp_path):
    _workdir(tmp_path).open(resume=False)
    with pytest.raises(OutputExistsError, match="--resume"):
        _workdir(tmp_path).open(resume=False)


def test_mismatching_manifest_is_a_clear_error(tmp_path):
    _workdir(tmp_path, {"overlap": 2}).open(resume=False)
    with pytest.raises(InputError, match="differs in: overlap"):
        _workdir(tmp_path, {"overlap": 4}).open(resume=True)
    (tmp_path / "in.mp4").write_bytes(b"y" * 11)  # the input changed
    with pytest.raises(InputError, match="different input file"):
        _workdir(tmp_path, {"overlap": 2}).open(resume=True)


def test_unlisted_segments_are_dropped_on_resume(tmp_path):
    work = _workdir(tmp_path)
    work.open(resume=False)
    (work.path / ".chunk_000003.mkv.partial.mkv").write_bytes(b"half-written")
    (work.path / "chunk_000004.mkv").write_bytes(b"written but never listed")
    resumed = _workdir(tmp_path)
    assert resumed.open(resume=True) == 0
    assert sorted(p.name for p in work.path.iterdir()) == ["manifest.json"]


def test_listed_chunk_with_changed_plan_is_refused(tmp_path):
    work = _workdir(tmp_path)
    work.open(resume=False)
    spec = plan_chunks(10, 4, 2)[2]  # frames 8-10
    work.save_chunk(spec, synthetic_frames(2, 8, 8))
    manifest = json.loads(work.manifest_path.read_text())
    assert manifest["chunks"]["2"]["start"] == 8
    resumed = _workdir(tmp_path)
    resumed.open(resume=True)
    with pytest.raises(InputError, match="covers frames"):
        resumed.load_chunk(plan_chunks(12, 4, 2)[2])  # now frames 8-12
