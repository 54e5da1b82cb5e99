"""Noise bank: exact save/load round trip over several shards, index contents, sampling, atomic failure."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers.negvsr import flat_and_textured_clip, write_png_folder

from wildvsr.errors import InputError, OutputExistsError
from wildvsr.negvsr import ExtractionConfig, NoiseBank, build_noise_bank, scan_clip
from wildvsr.negvsr.bank import _mirror_index

CFG = ExtractionConfig(length=4)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """Two 4-frame clips (8 frames) of the flat/textured pattern: 2 x 4 kept windows."""
    frames = np.concatenate([flat_and_textured_clip(4, seed=0), flat_and_textured_clip(4, seed=1)])
    return write_png_folder(tmp_path_factory.mktemp("src") / "frames", frames), frames


@pytest.fixture(scope="module")
def bank_dir(source, tmp_path_factory):
    folder, _ = source
    out = tmp_path_factory.mktemp("banks") / "bank"
    summary = build_noise_bank([folder], out, CFG, shard_size=3)
    assert (summary.clips, summary.scanned, summary.kept) == (2, 16, 8)
    return out


def test_round_trip_is_exact(source, bank_dir):
    _, frames = source
    expected = scan_clip(frames[:4], CFG) + scan_clip(frames[4:], CFG, clip_start=4)
    bank = NoiseBank(bank_dir)
    assert len(bank) == 8 and bank.length == 4 and bank.window == 64 and not bank.zero_mean
    index = json.loads((bank_dir / "index.json").read_text())
    assert [s["count"] for s in index["shards"]] == [3, 3, 2]
    assert index["thresholds"] == {"max_var": 50.0, "min_mean": 0.0, "max_var_of_var": 50.0, "max_var_of_mean": 50.0}
    assert index["summary"]["kept"] == 8 and index["version"] == 1
    for i, seq in enumerate(expected):
        assert torch.equal(bank.get(i), torch.from_numpy(seq.frames))
        entry = index["sequences"][i]
        assert (entry["clip_start"], entry["y"], entry["x"]) == (seq.clip_start, seq.y, seq.x)
        assert entry["source"].endswith("frames")
    assert sorted({e["clip_start"] for e in index["sequences"]}) == [0, 4]


def test_sample_shapes_ranges_and_seeding(bank_dir):
    bank = NoiseBank(bank_dir)
    a = bank.sample(3, 4, 64, 64, np.random.default_rng(0))
    b = bank.sample(3, 4, 64, 64, np.random.default_rng(0))
    assert a.shape == (3, 4, 3, 64, 64) and a.dtype == torch.float32 and torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1
    seqs = bank.sequences.permute(0, 1, 4, 2, 3).float() / 255
    assert any(torch.equal(a[0], s) for s in seqs)  # a whole stored sequence when the sizes match
    c = bank.sample(2, 3, 32, 48, torch.Generator().manual_seed(0))  # crops in time and space
    assert c.shape == (2, 3, 3, 32, 48)
    with pytest.raises(TypeError):
        bank.sample(1, 4)


def test_sample_mirrors_longer_requests(bank_dir):
    bank = NoiseBank(bank_dir)
    long = bank.sample(1, 10, 64, 64, np.random.default_rng(1))
    order = [0, 1, 2, 3, 2, 1, 0, 1, 2, 3]
    torch.testing.assert_close(long[0], long[0, :4][order])
    assert list(_mirror_index(10, 4, 0)) == order
    big = bank.sample(1, 2, 100, 64, np.random.default_rng(1))
    torch.testing.assert_close(big[0, :, :, 64:], big[0, :, :, 27:63].flip(2))  # reflected about the last row


def test_zero_mean_variant(source, tmp_path):
    folder, _ = source
    out = tmp_path / "zm"
    build_noise_bank([folder], out, ExtractionConfig(length=4, zero_mean=True))
    bank = NoiseBank(out)
    assert bank.zero_mean and bank.mix_mode == "additive" and NoiseBank(out, zero_mean=False).mix_mode == "convex"
    s = bank.sample(2, 4, 64, 64, np.random.default_rng(0))
    assert s.mean(dim=(-2, -1)).abs().max() < 1e-5 and s.min() < 0
    raw = NoiseBank(out, zero_mean=False).sample(2, 4, 64, 64, np.random.default_rng(0))
    torch.testing.assert_close(s, raw - raw.mean(dim=(-2, -1), keepdim=True))


def test_no_kept_window_leaves_nothing(tmp_path):
    texture = np.random.default_rng(0).integers(0, 256, size=(4, 64, 128, 3), dtype=np.uint8)
    folder = write_png_folder(tmp_path / "tex", texture)
    with pytest.raises(InputError, match="no window sequence"):
        build_noise_bank([folder], tmp_path / "bank", CFG)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tex"]  # no bank, no temporary folder


def test_existing_output_and_bad_bank(bank_dir, source, tmp_path):
    folder, _ = source
    with pytest.raises(OutputExistsError):
        build_noise_bank([folder], bank_dir, CFG)
    with pytest.raises(InputError, match="not a noise bank"):
        NoiseBank(tmp_path)
    (tmp_path / "index.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(InputError, match="rebuild"):
        NoiseBank(tmp_path)
