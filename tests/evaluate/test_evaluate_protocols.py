"""Protocol definitions: frame selection of the papers, unknown names, the FLIR quarter split (pixel-exact)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from helpers.media import synthetic_frames

from wildvsr.errors import UnknownModelError
from wildvsr.evaluate import BenchmarkConfig, benchmark, get_protocol, list_protocols, load_frames, split_quarters


def test_videolq_selects_first_middle_last_like_the_papers():
    p = get_protocol("videolq")
    assert p.select(31) == [0, 15, 30]
    assert p.select(100) == [0, 50, 99]
    # Vid4 clips 030-033 in NegVSR's videolq_sub.py
    assert [p.select(n) for n in (41, 34, 49, 47)] == [[0, 20, 40], [0, 17, 33], [0, 24, 48], [0, 23, 46]]
    assert p.metrics == ("niqe", "brisque")


def test_flir_and_synthetic_and_frames_definitions():
    flir = get_protocol("flir")
    assert flir.split_quarters and flir.max_frames == 25 and flir.select(30) == [0, 12, 24]
    syn = get_protocol("synthetic")
    assert syn.degrade and syn.select(4) == [0, 1, 2, 3] and "warping_error" in syn.metrics
    assert get_protocol("frames").select(3) == [0, 1, 2]
    assert set(list_protocols()) == {"videolq", "flir", "synthetic", "frames"}


def test_unknown_protocol_lists_valid_names():
    with pytest.raises(UnknownModelError, match="videolq, flir, synthetic, frames"):
        get_protocol("vid4")


def test_split_quarters_is_pixel_exact():
    frames = synthetic_frames(3, 10, 14, seed=1)
    q = split_quarters(frames)
    assert [x.shape for x in q] == [(3, 5, 7, 3)] * 4
    top = np.concatenate([q[0], q[1]], axis=2)
    bottom = np.concatenate([q[2], q[3]], axis=2)
    np.testing.assert_array_equal(np.concatenate([top, bottom], axis=1), frames)


def test_flir_benchmark_scores_four_quarter_sequences_of_25_frames(tmp_path: Path):
    frames = synthetic_frames(27, 192, 224, seed=2)
    folder = tmp_path / "flir_seq"
    folder.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"{i:03d}.png")
    np.testing.assert_array_equal(load_frames(folder, indices=[0, 26]), frames[[0, 26]])
    res = benchmark(folder, BenchmarkConfig("bicubic", "flir", metrics="niqe"), tmp_path / "out").to_dict()
    seqs = res["methods"]["bicubic"]["sequences"]
    assert list(seqs) == [f"flir_seq_q{k}" for k in range(4)]
    assert all(s["frames"] == [0, 12, 24] for s in seqs.values())
    # the quarters (96x112) were upscaled: the method ran on 3 frames per quarter, 12 in all
    assert res["methods"]["bicubic"]["frames_run"] == 12
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert saved["protocol"]["name"] == "flir" and saved["protocol"]["split_quarters"] is True
