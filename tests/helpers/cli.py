"""``python -m wildvsr ARGS`` in a subprocess, as a user runs it (stdout and stderr captured, so stderr is not a
terminal), optionally with the ``tiny`` model registered (:mod:`helpers.tiny_cli`); and reading what a run left."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def cli_env(env: dict | None = None, *, helpers: bool = False) -> dict[str, str]:
    """The environment of a CLI subprocess: this process's with unbuffered output, then ``env`` on top. With
    ``helpers``, ``tests/`` also goes first on ``PYTHONPATH``, so the child can import :mod:`helpers` (as
    ``python -m helpers.tiny_cli`` does); only then, as the other runs should see no test folder on their path."""
    out = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if helpers:
        out["PYTHONPATH"] = os.pathsep.join(p for p in (str(TESTS), os.environ.get("PYTHONPATH", "")) if p)
    return {**out, **(env or {})}


def wildvsr_cmd(*args, tiny: bool = False) -> list[str]:
    """The command line of ``wildvsr ARGS``: ``python -m wildvsr``, or with ``tiny`` the same CLI with the ``tiny``
    model registered (``python -m helpers.tiny_cli``; run it with ``cli_env(helpers=True)``)."""
    return [sys.executable, "-m", "helpers.tiny_cli" if tiny else "wildvsr", *map(str, args)]


def run_wildvsr(*args, tiny: bool = False, env: dict | None = None, timeout: float = 300,
                **kwargs) -> subprocess.CompletedProcess:
    """Run ``wildvsr ARGS`` (see :func:`wildvsr_cmd`) to its end with :func:`cli_env` plus ``env``; stdout and stderr
    captured as text."""
    return subprocess.run(wildvsr_cmd(*args, tiny=tiny), capture_output=True, text=True,
                          env=cli_env(env, helpers=tiny), timeout=timeout, **kwargs)


def snapshot(folder: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file (and ``<dir>`` for every folder) under ``folder``, hidden ones too."""
    out: dict[str, str] = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = "<dir>" if p.is_dir() and not p.is_symlink() else (
            "<link>" if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def error_lines(stderr: str) -> list[str]:
    """The non-blank lines of a run's stderr."""
    return [line for line in stderr.splitlines() if line.strip()]
