"""Interrupting a run after its first chunks: in process (a ``progress`` callback that raises Ctrl-C) or a
``wildvsr upscale`` subprocess signalled once its resume work folder records a finished chunk."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from helpers.cli import cli_env, wildvsr_cmd


def interrupt_after(chunks: int):
    """A ``progress`` callback that raises KeyboardInterrupt (Ctrl-C) once ``chunks`` chunks were reported."""
    seen = []

    def progress(n: int) -> None:
        seen.append(n)
        if len(seen) == chunks:
            raise KeyboardInterrupt

    return progress


def signal_after_first_chunk(args: list, watch: Path, *, sig: int = signal.SIGKILL, tiny: bool = False,
                             env: dict | None = None, timeout: float = 240) -> tuple[subprocess.CompletedProcess, int]:
    """Start ``wildvsr ARGS`` (an upscale; :func:`helpers.cli.wildvsr_cmd`, :func:`helpers.cli.cli_env` plus
    ``env``), send ``sig`` once the work folder of the output ``watch`` records a finished chunk (or once ``timeout``
    seconds have passed), and return the finished process (text stdout and stderr) and the number of chunks recorded
    when the signal went (0 if the run never got that far)."""
    from wildvsr.inference.resume import work_dir_for

    manifest = work_dir_for(watch) / "manifest.json"
    # SIGINT at its default disposition in the child: wildvsr keeps an inherited "ignore" (nohup, background jobs),
    # and a test suite started in the background by a non-interactive shell passes SIGINT ignored to its children
    proc = subprocess.Popen(wildvsr_cmd(*args, tiny=tiny), env=cli_env(env, helpers=tiny), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + timeout
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            done = len(json.loads(manifest.read_text())["chunks"])
        except (OSError, ValueError, KeyError):
            pass
        if done:
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"the run ended before the signal: {proc.communicate()}"
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), done
