"""Helpers for the reliability tests: run the real CLI in a subprocess, build tiny inputs, list what a run left."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path



ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def wildvsr(*args, env: dict | None = None, timeout: float = 240, **kwargs) -> subprocess.CompletedProcess:
    """``python -m wildvsr ARGS`` with stdout/stderr captured (so stderr is not a terminal)."""
    return subprocess.run([sys.executable, "-m", "wildvsr", *map(str, args)], capture_output=True, text=True,
                          env={**ENV, **(env or {})}, timeout=timeout, **kwargs)



def snapshot(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file (and ``<dir>`` for every folder) under ``folder``, hidden ones too."""
    out: dict[str, str] = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "<dir>" if p.is_dir() and not p.is_symlink() else (
            "<link>" if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


TINY_CLI = Path(__file__).with_name("tiny_wildvsr.py")


def save_tiny_weights(path: Path) -> Path:
    """Weights of the ``tiny`` model of :mod:`tiny_wildvsr` (seeded, fixed)."""
    from inference_testutils import TinyBiRecurrent
    from safetensors.torch import save_file

    save_file(TinyBiRecurrent().state_dict(), str(path))
    return path


def tiny_cmd(*args) -> list[str]:
    """The command line of ``wildvsr ARGS`` with the ``tiny`` model registered (see :mod:`tiny_wildvsr`)."""
    return [sys.executable, str(TINY_CLI), *map(str, args)]


def tiny_wildvsr(*args, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(tiny_cmd(*args), capture_output=True, text=True, env={**ENV, **(env or {})},
                          timeout=timeout)
