"""Datasets (folders of sequences, single sequences) and evaluate() with the videolq selection on existing outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from helpers.media import synthetic_frames, write_clip

from wildvsr.errors import InputError
from wildvsr.evaluate import evaluate, list_sequences, load_frames
from wildvsr.metrics import calculate_niqe


def _folder(path: Path, frames: np.ndarray) -> Path:
    path.mkdir(parents=True)
    for i, f in enumerate(frames):
        Image.fromarray(f).save(path / f"{i}.png")
    return path


def test_list_sequences_of_folder_video_and_single(tmp_path: Path):
    root = tmp_path / "set"
    _folder(root / "b_frames", synthetic_frames(2, 16, 16))
    write_clip(root / "a_clip.mp4", synthetic_frames(2, 16, 16))
    (root / "notes.txt").write_text("ignored")
    assert [(s.name, s.path.name) for s in list_sequences(root)] == [("a_clip", "a_clip.mp4"), ("b_frames", "b_frames")]
    assert [s.name for s in list_sequences(root / "b_frames")] == ["b_frames"]
    assert [s.name for s in list_sequences(root / "a_clip.mp4")] == ["a_clip"]
    with pytest.raises(InputError):
        list_sequences(tmp_path / "missing")
    with pytest.raises(InputError):
        list_sequences(root / "notes.txt")


def test_load_frames_indices_max_frames_and_crop(tmp_path: Path):
    frames = synthetic_frames(5, 20, 30, seed=1)
    folder = _folder(tmp_path / "f", frames)
    np.testing.assert_array_equal(load_frames(folder, indices=[3, 1]), frames[[1, 3]])
    np.testing.assert_array_equal(load_frames(folder, max_frames=2, crop=10), frames[:2, 5:15, 10:20])
    with pytest.raises(InputError):
        load_frames(folder, indices=[7])


def test_evaluate_videolq_selection_on_existing_outputs(tmp_path: Path):
    frames = synthetic_frames(31, 96, 96, seed=2)
    outputs = _folder(tmp_path / "outputs" / "seq_a", frames)
    res = evaluate(outputs.parent, protocol="videolq", out_dir=tmp_path / "rep", metrics=["niqe"])
    seq = res["methods"]["outputs"]["sequences"]["seq_a"]
    assert seq["frames"] == [0, 15, 30]
    assert seq["values"]["niqe"] == [pytest.approx(calculate_niqe(frames[i]), abs=1e-9) for i in (0, 15, 30)]
    assert (tmp_path / "rep" / "results.md").is_file() and (tmp_path / "rep" / "compare.html").is_file()
