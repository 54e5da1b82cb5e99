"""Many inputs, one after the other, in one process: ``wildvsr upscale IN [IN ...] OUT_FOLDER`` (issue 28).

:func:`expand_inputs` turns the command-line arguments into inputs, :func:`output_for` names each one's output in the
output folder, and :func:`upscale_many` runs :func:`~wildvsr.inference.runner.upscale_video` on each with the model
loaded once (:func:`run_many`: the same batch rules around any one-input job, e.g. MGLD-VSR's). A batch is
restartable as it stands: a finished output (outputs appear atomically) is skipped, an
interrupted one (its work folder exists) is resumed, and one bad input is reported in one line while the others go on.
"""

from __future__ import annotations

import contextlib
import dataclasses
import glob
import logging
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ContextManager

from wildvsr.errors import InputError, VSRError
from wildvsr.inference.config import UpscaleConfig
from wildvsr.inference.resume import work_dir_for
from wildvsr.inference.runner import build_upscaler, upscale_video
from wildvsr.video import VIDEO_EXTENSIONS, is_image_path, is_video_path
from wildvsr.video.info import natural_key

logger = logging.getLogger(__name__)

__all__ = ["BatchResult", "RunOne", "batch_outputs", "expand_inputs", "is_batch", "is_frame_folder", "is_glob",
           "output_for", "run_many", "upscale_many", "video_files"]

GLOB_CHARS = frozenset("*?[")
MAX_EXIT_CODE = 100
"""The CLI's exit code is the number of failed inputs, capped here (130/143 stay for interrupts)."""

Progress = Callable[[int], None]


def expand_inputs(args: Iterable[str | Path]) -> list[Path]:
    """The inputs that command-line arguments name, in order, each once (by resolved path).

    Each argument is one of:

    * a file (a video, or one image): itself; a file that is not a video and a path that does not exist are kept
      too, and fail on their own in :func:`upscale_many`, like any bad input;
    * a folder of images: ONE frame-sequence input, as a single ``wildvsr upscale`` takes it;
    * a folder of video files (and no images): its video files (by extension, hidden ones left out), in natural order
      (``2.mp4`` before ``10.mp4``); the folder is not searched recursively;
    * a glob pattern (``*``, ``?``, ``[``) the shell did not expand, e.g. quoted or on Windows: its matches, in
      natural order, each taken as if it had been given itself (a matched folder of videos gives its videos).

    Raises:
        InputError: a pattern matches nothing, or a folder holds neither videos nor images.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for arg in args:
        for path in _expand_one(Path(arg)):
            key = path.resolve()
            if key not in seen:
                seen.add(key)
                found.append(path)
    return found


def _expand_one(path: Path) -> list[Path]:
    if not path.exists() and is_glob(str(path)):
        matches = sorted(glob.glob(str(path)), key=natural_key)
        if not matches:
            raise InputError(f"{path} matches no file")
        return [p for m in matches for p in _expand_one(Path(m))]
    if path.is_dir() and not is_frame_folder(path):
        videos = video_files(path)
        if not videos:
            raise InputError(f"{path} holds no video files and no images (sub-folders are not searched)")
        return videos
    return [path]


def is_frame_folder(path: Path) -> bool:
    """A folder with images (visible files with an image extension) is one frame-sequence input, as a single
    ``wildvsr upscale`` reads it (video files beside the images are not its frames and are not inputs)."""
    return path.is_dir() and any(is_image_path(p) for p in _visible_files(path))


def is_glob(arg: str) -> bool:
    """True when ``arg`` has a glob character (``*``, ``?``, ``[``)."""
    return any(c in GLOB_CHARS for c in arg)


def video_files(folder: Path) -> list[Path]:
    """The video files (by extension) directly in ``folder``, hidden ones left out, in natural order."""
    return sorted((p for p in _visible_files(folder) if is_video_path(p)), key=lambda p: natural_key(p.name))


def _visible_files(folder: Path) -> list[Path]:
    return [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]


def is_batch(args: Sequence[str | Path]) -> bool:
    """Whether ``wildvsr upscale ARGS... OUT`` is a batch (OUT a folder that receives one output per input): several
    arguments, or one that is a glob pattern or a folder of videos. A single file or frame folder is the single job,
    exactly as before, whatever OUT is (an existing folder as OUT is then a PNG-folder output: refused unless
    ``--overwrite``, which replaces it)."""
    if len(args) != 1:
        return True
    path = Path(args[0])
    if not path.exists():
        return is_glob(str(path))
    return path.is_dir() and not is_frame_folder(path) and bool(video_files(path))


def output_for(src: str | Path, out_dir: str | Path, ext: str | None = None) -> Path:
    """The output of ``src`` in ``out_dir``: the same name (a frame folder gives a PNG folder of that name, an image
    an image); ``ext`` (``mkv`` or ``.mkv``) replaces a video file's extension and leaves other inputs alone.

    Raises:
        InputError: ``ext`` is not a video container extension.
    """
    src, out_dir = Path(src), Path(out_dir)
    if ext is None or not is_video_path(src):
        _check_ext(ext)
        return out_dir / src.name
    return out_dir / (src.stem + _check_ext(ext))


def _check_ext(ext: str | None) -> str | None:
    if ext is None:
        return None
    suffix = "." + ext.lstrip(".").lower()
    if suffix not in VIDEO_EXTENSIONS:
        raise InputError(f"--ext {ext} is not a video container; use one of "
                         f"{', '.join(sorted(e.lstrip('.') for e in VIDEO_EXTENSIONS))}")
    return suffix


def batch_outputs(inputs: Sequence[str | Path], out_dir: str | Path, ext: str | None = None
                  ) -> list[tuple[Path, Path]]:
    """``(input, output)`` pairs by :func:`output_for`, checked before any work.

    Raises:
        InputError: two inputs would give the same output name (compared case-insensitively, as on macOS and
            Windows file systems), or an output would be an input (e.g. OUT is the inputs' own folder).
    """
    pairs = [(Path(src), output_for(src, out_dir, ext)) for src in inputs]
    by_name: dict[str, Path] = {}
    resolved_inputs = {src.resolve(): src for src, _ in pairs}
    for src, dst in pairs:
        other = by_name.setdefault(dst.name.casefold(), src)
        if other is not src:
            raise InputError(f"{other} and {src} would both be written to {dst}; rename one or upscale them into "
                             "different folders")
        if dst.resolve() in resolved_inputs:
            raise InputError(f"the output of {src} would be {dst}, an input; choose another output folder")
    return pairs


@dataclass
class BatchResult:
    """What :func:`upscale_many` did with each input: ``done`` and ``skipped`` hold the inputs, ``failed`` maps an
    input to its one-line error message."""

    done: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)

    def summary(self) -> str:
        """``3 done, 1 skipped, 1 failed``."""
        return f"{len(self.done)} done, {len(self.skipped)} skipped, {len(self.failed)} failed"

    @property
    def exit_code(self) -> int:
        """The number of failed inputs, capped at :data:`MAX_EXIT_CODE` (0 when none failed)."""
        return min(len(self.failed), MAX_EXIT_CODE)


def _stderr_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def upscale_many(inputs: Sequence[str | Path], out_dir: str | Path, config: UpscaleConfig | None = None, *,
                 ext: str | None = None,
                 progress_for: Callable[[Path, Path], ContextManager[Progress | None]] | None = None,
                 log: Callable[[str], None] = _stderr_line) -> BatchResult:
    """Upscale each input into ``out_dir`` (:func:`output_for` names the outputs), one after the other.

    * The model is loaded once, when the first input that needs work comes up, and reused for all of them (the
      resume manifests record ``config.model`` and its weights as a single run does).
    * An existing output is skipped (outputs appear only when finished) unless ``config.overwrite``.
    * An output whose work folder exists is resumed (an interrupted batch continues where it stopped) whatever
      ``config.resume`` says; a work folder made with other settings fails that input, with the folder named.
    * A :class:`~wildvsr.errors.VSRError` raised for one input (missing or broken file, a container the codec does
      not fit, ...) is logged as one line ``FAILED <input>: <message>`` and the batch goes on.
    * KeyboardInterrupt (and any other exception) stops the whole batch; the interrupted input keeps its work folder.

    Args:
        inputs: paths, e.g. from :func:`expand_inputs`.
        out_dir: the output folder, created if missing (its parent must exist).
        config: settings for every input (defaults: :class:`UpscaleConfig`).
        ext: container extension for the outputs of video inputs (default: each input's own).
        progress_for: (input, output) -> a context manager yielding that input's ``progress`` callback (or None),
            e.g. ``lambda src, dst: progress(src.name, output=dst)`` with :func:`wildvsr.cli.progress.progress`.
        log: where the one-line reports go (default: stderr): ``FAILED ...`` and ``skipped ...``.

    Raises:
        InputError: before any work, when the inputs cannot all be written to ``out_dir`` (:func:`batch_outputs`) or
            ``out_dir`` cannot be created.
        VSRError: the model cannot be loaded or the settings do not fit it (nothing is per-input about that).
    """
    config = config or UpscaleConfig()
    loaded = []

    def run_one(src: Path, dst: Path, resume: bool, advance: Progress | None) -> None:
        upscale_video(src, dst, dataclasses.replace(config, resume=resume), progress=advance, upscaler=loaded[0])

    return run_many(inputs, out_dir, run_one, prepare=lambda: loaded.append(build_upscaler(config)),
                    overwrite=config.overwrite, ext=ext, progress_for=progress_for, log=log)


RunOne = Callable[[Path, Path, bool, Progress | None], None]
"""``(input, output, resume, progress) -> None``: one input's job in a batch (raises a VSRError it cannot do)."""


def run_many(inputs: Sequence[str | Path], out_dir: str | Path, run_one: RunOne, *,
             prepare: Callable[[], None] | None = None, overwrite: bool = False, ext: str | None = None,
             progress_for: Callable[[Path, Path], ContextManager[Progress | None]] | None = None,
             log: Callable[[str], None] = _stderr_line) -> BatchResult:
    """The batch rules of :func:`upscale_many` (skip, resume, ``FAILED`` lines, result) around any one-input job
    ``run_one`` (``--model mgldvsr`` has its own). ``prepare()`` runs once, when the first input that needs work comes
    up, outside the per-input error lines: loading the model, whose failure is the whole batch's."""
    out_dir = Path(out_dir)
    pairs = batch_outputs(inputs, out_dir, ext)
    _make_out_dir(out_dir)
    result = BatchResult()
    for src, dst in pairs:
        if dst.exists() and not overwrite:
            log(f"skipped {src}: {dst} exists (--overwrite replaces it)")
            result.skipped.append(src)
            continue
        if prepare is not None:
            prepare()
            prepare = None
        try:
            with progress_for(src, dst) if progress_for else contextlib.nullcontext() as advance:
                run_one(src, dst, work_dir_for(dst).is_dir(), advance)
        except VSRError as exc:
            logger.debug("%s failed", src, exc_info=True)
            log(f"FAILED {src}: {exc}")
            result.failed[src] = str(exc)
        else:
            result.done.append(src)
    return result


def _make_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"output {out_dir} is a file; several inputs need an output folder")
    parent = out_dir.parent if str(out_dir.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"output folder {parent} does not exist; create it first")
    try:
        out_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder {out_dir} ({exc.strerror or exc})") from exc
