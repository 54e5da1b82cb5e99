"""Atomic output: nothing at the target on failure, existing files untouched, inputs never overwritten."""

from __future__ import annotations

import os
import stat

import pytest

from wildvsr.errors import InputError, OutputExistsError
from wildvsr.utils.files import atomic_path, atomic_write_text, check_output_path


def test_success_renames_and_uses_umask_mode(tmp_path):
    target = tmp_path / "out.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target and tmp.suffix == ".txt"
        tmp.write_text("done")
        assert not target.exists()
    assert target.read_text() == "done"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]  # no temp file left


def test_failure_leaves_no_file_and_keeps_existing(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target, overwrite=True) as tmp:
        tmp.write_text("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_existing_needs_overwrite_and_input_is_refused(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        check_output_path(target)
    with pytest.raises(OutputExistsError, match="is the input"):
        check_output_path(target, overwrite=True, inputs=[target])
    atomic_write_text(target, "new")
    assert target.read_text() == "new"


def test_directory_mode_replaces_folder_atomically(tmp_path):
    target = tmp_path / "frames"
    with atomic_path(target, directory=True) as tmp:
        (tmp / "0.png").write_bytes(b"x")
    assert (target / "0.png").exists()
    with atomic_path(target, directory=True, overwrite=True) as tmp:
        (tmp / "1.png").write_bytes(b"y")
    assert sorted(p.name for p in target.iterdir()) == ["1.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frames"]


def test_missing_or_unwritable_parent_is_one_line_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        check_output_path(tmp_path / "missing" / "out.mp4")
    with pytest.raises(InputError, match="cannot write|not writable"):
        with atomic_path("/proc/out.txt"):
            pass
