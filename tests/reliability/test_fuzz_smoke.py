"""The video-reader fuzzer (benchmarks/fuzz_video_reader.py) on 150 inputs: no bug, crash or hang. Seed 0 covers
inputs that found two reader bugs (a stream without a decoder: AttributeError; see the README for the full run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from helpers.cli import cli_env

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fuzz_video_reader.py"


def test_fuzz_smoke(tmp_path):
    run = subprocess.run([sys.executable, str(SCRIPT), "--count", "150", "--seed", "0", "--save", str(tmp_path / "f")],
                         capture_output=True, text=True, env=cli_env(), timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    row = run.stdout.splitlines()[2].split("|")
    assert int(row[1]) == 150 and row[4:7] == [" 0 ", " 0 ", " 0 "], run.stdout
