"""The console script itself (subprocess: real exit codes and stderr) and the shared CLI behaviour (in-process)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from helpers.media import synthetic_frames, write_clip

from wildvsr import __version__
from wildvsr.cli import main


def wildvsr(*args) -> subprocess.CompletedProcess:
    exe = shutil.which("wildvsr")
    cmd = [exe] if exe else [sys.executable, "-m", "wildvsr"]
    return subprocess.run(cmd + [str(a) for a in args], check=False, capture_output=True, text=True, timeout=180,
                          env=dict(os.environ, COLUMNS="120"))


def run(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main([str(a) for a in args])
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_console_script_exit_codes_and_stderr(tmp_path, tiny_clip):
    # Two real processes only: the CLI's start-up imports torch (other commands), which is slow on a busy machine.
    res = wildvsr("info", tmp_path / "missing.mp4")
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.strip().splitlines() == [f"error: input {tmp_path / 'missing.mp4'} does not exist"]
    out = tmp_path / "o.mkv"
    res = wildvsr("convert", tiny_clip, out, "--codec", "ffv1")
    assert res.returncode == 0, res.stderr
    # no progress bar when stderr is not a TTY: the closing line only (a job shorter than the progress interval)
    assert res.stderr.startswith("converting: 8 frames in ") and res.stderr.endswith(f" fps) -> {out}\n")
    assert len(res.stderr.splitlines()) == 1 and "\r" not in res.stderr
    assert out.exists() and not [p for p in tmp_path.iterdir() if ".partial" in p.name]


_IMPORTS = """
import sys
import wildvsr
from wildvsr.cli import main
try:
    main(["--help"])
except SystemExit:
    pass
assert "torch" not in sys.modules, "wildvsr --help imported torch"
assert "upscale_video" in dir(wildvsr) and "torch" not in sys.modules
from wildvsr.inference import upscale_video
assert wildvsr.upscale_video is upscale_video and wildvsr.create_model.__module__ == "wildvsr.models.factory"
print("ok")
"""


def test_help_imports_no_torch_and_the_api_is_lazy():
    """``wildvsr --help`` and ``import wildvsr`` stay torch-free; the main API is importable from the top (PEP 562)
    and is the same object as in its module. A fresh process: this one has torch imported already."""
    res = subprocess.run([sys.executable, "-c", _IMPORTS], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, COLUMNS="120"))
    assert res.returncode == 0 and res.stdout.strip().endswith("ok"), res.stderr
    import wildvsr

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        wildvsr.nope  # noqa: B018


def test_help_version_debug_and_usage(capsys, tmp_path):
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "info" in out and "convert" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and __version__ in out
    code, _, err = run(capsys, "--debug", "info", tmp_path / "missing.mp4")
    assert code == 2 and "Traceback" in err and err.strip().endswith("does not exist")
    code, _, err = run(capsys, "convert", tmp_path / "only-one-argument.mp4")
    assert code == 2 and "Traceback" not in err


def _walk(command, path=()):
    """(command path, click command) of every command of the app."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, (*path, name))


def test_help_texts_print_as_written_and_devices_default_to_auto(capsys):
    """Rich markup would eat a ``[word]`` in a help text (``pip install 'wildvsr[openvino]'`` printed without its
    extra): every help text shows its brackets; every ``--device`` defaults to ``auto``."""
    from typer.main import get_command

    from wildvsr.cli.app import app

    checked = devices = 0
    for path, command in _walk(get_command(app)):
        for param in [*command.params, command]:  # the options' help, and the command's own (its docstring)
            if param.name == "device":
                assert param.default == "auto", path
                devices += 1
            words = [w.strip(".,;:()'\"") for w in (param.help or "").split() if "[" in w]
            if not words:
                continue
            code, out, _ = run(capsys, *path, "--help")
            flat = " ".join(out.replace("│", " ").split())
            for word in words:
                assert word.replace("\\[", "[") in flat, (path, param.name, word)
                checked += 1
    assert checked >= 1 and devices >= 4


def test_info_human_readable_and_json(capsys, tmp_path):
    clip = write_clip(tmp_path / "a.mp4", synthetic_frames(5, 32, 48), audio=True)
    code, out, _ = run(capsys, "info", clip)
    assert code == 0
    for text in ("48x32", "frames:     5", "25.000", "yuv420p", "decoded as: bt601, limited range", "aac, 1 ch"):
        assert text in out, (text, out)
    code, out, _ = run(capsys, "info", clip, "--json")
    data = json.loads(out)
    assert code == 0 and data["width"] == 48 and data["fps"] == "25/1" and data["num_frames"] == 5
    assert data["audio_streams"][0]["sample_rate"] == 48000


def test_convert_in_process_to_frame_folder(capsys, tmp_path, tiny_clip):
    out = tmp_path / "frames"
    code, _, err = run(capsys, "convert", tiny_clip, out)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir())[:2] == ["00000000.png", "00000001.png"]
    assert len(list(out.iterdir())) == 8
