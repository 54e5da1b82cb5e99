"""The app's three jobs as plain functions over server paths: each checks the upload, calls the library function the
CLI calls (``upscale_video``, ``degrade_video``, ``evaluate``) and returns what the page shows. No Gradio here.

Files live in one folder per browser session (:class:`Sessions`), removed when the session ends. An upscale job's
folder is named after the input's content and the settings, so pressing Upscale again after Cancel resumes from the
finished chunks (the library's work directory), and a finished result is not computed twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from wildvsr.app.choices import ModelChoice, upscale_config_kwargs
from wildvsr.app.settings import AppSettings
from wildvsr.app.uploads import (
    ZIP_EXTENSIONS,
    check_length,
    check_upload,
    discard,
    unpack_frames,
    upload_folder,
    uploaded_path,
)
from wildvsr.degrade.video import DegradeConfig, degrade_video
from wildvsr.errors import InputError, VSRError
from wildvsr.evaluate import evaluate
from wildvsr.evaluate.methods import bicubic_x4
from wildvsr.inference import UpscaleConfig, upscale_video
from wildvsr.inference.device import release_cached_memory
from wildvsr.video import VideoReader, is_image_path, read_info
from wildvsr.video.convert import convert_video

logger = logging.getLogger(__name__)

Report = Callable[[int, "int | None", str], None]
"""``report(done, total, text)``: progress shown to the user (frames done, total when known, a one-line status)."""


class JobCancelled(Exception):
    """Raised from a job's progress callback when the user pressed Cancel (the library stops after that chunk)."""

    def __init__(self, done: int) -> None:
        super().__init__(f"cancelled after {done} frames")
        self.done = done


class Sessions:
    """One folder and one cancel flag per browser session, under ``root`` (a folder this server created)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cancel: dict[str, threading.Event] = {}
        self._uploads: dict[str, set[Path]] = {}
        self._lock = threading.Lock()

    def folder(self, session: str) -> Path:
        path = self.root / _safe_name(session)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def cancel_flag(self, session: str) -> threading.Event:
        with self._lock:
            return self._cancel.setdefault(session, threading.Event())

    def track_upload(self, session: str, path: Path) -> None:
        """Remember an upload so that it is deleted with the session."""
        with self._lock:
            self._uploads.setdefault(session, set()).add(path)

    def end(self, session: str) -> None:
        """Delete everything of a session: its folder and its uploads (Gradio's upload folder only)."""
        with self._lock:
            self._cancel.pop(session, None)
            uploads = self._uploads.pop(session, set())
        for path in uploads:
            discard(path)
        shutil.rmtree(self.root / _safe_name(session), ignore_errors=True)

    def close(self) -> None:
        """Delete every session (server shutdown)."""
        for session in list(self._uploads):
            self.end(session)
        shutil.rmtree(self.root, ignore_errors=True)


def public_message(message: str) -> str:
    """``message`` with every server path under Gradio's upload folder shortened to its file name."""
    root = re.escape(str(upload_folder()))
    return re.sub(root + r"/[^\s'\"]*", lambda m: repr(Path(m.group()).name), message)


def _safe_name(session: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "", str(session))[:64]
    return name or "anonymous"


class ProgressReporter:
    """The ``progress`` callback of a library job: counts frames, reports fps and ETA, and stops on Cancel.

    Args:
        total: frames expected (None when unknown).
        report: where to show progress.
        cancel: when set, the next call raises :class:`JobCancelled` (the job stops at that chunk boundary).
        verb: first word of the status line.
    """

    def __init__(self, total: int | None, report: Report, cancel: threading.Event, verb: str) -> None:
        self.total, self.report, self.cancel, self.verb = total, report, cancel, verb
        self.done = 0
        self.start = time.monotonic()
        report(0, total, f"{verb}: starting")

    def set_total(self, total: int) -> None:
        """The job's own frame count (a job that reports it, e.g. ``degrade_video``)."""
        self.total = total

    def __call__(self, frames: int) -> None:
        self.done += int(frames)
        elapsed = max(time.monotonic() - self.start, 1e-9)
        fps = self.done / elapsed
        text = f"{self.verb}: {self.done}" + (f"/{self.total}" if self.total else "") + f" frames, {fps:.2f} fps"
        if self.total and fps > 0:
            text += f", ETA {_clock((self.total - self.done) / fps)}"
        self.report(self.done, self.total, text)
        if self.cancel.is_set():
            raise JobCancelled(self.done)


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


# --------------------------------------------------------------------------------------------------------- inputs
def accept_upload(value: str | os.PathLike | None, settings: AppSettings, sessions: Sessions, session: str,
                  accepted: tuple[str, ...] | None = None) -> Path:
    """The checked upload (inside Gradio's upload folder, accepted type, within the size limit); a refused file is
    deleted. Raises :class:`InputError` with the reason."""
    path = uploaded_path(value)
    if path.is_relative_to(sessions.root.resolve()):
        raise InputError(f"refused upload {path.name!r}: only files uploaded to this page are read")
    try:
        check_upload(path, settings, *(() if accepted is None else (accepted,)))
    except InputError:
        discard(path)
        raise
    sessions.track_upload(session, path)
    return path


def stage_input(upload: Path, job: Path, settings: AppSettings) -> Path:
    """Put the upload into ``job`` as the job's input (a hard link when possible; a zip is unpacked to frames) and
    check its length. On any refusal the upload and the job folder are deleted."""
    try:
        job.mkdir(parents=True, exist_ok=True)
        if upload.suffix.lower() in ZIP_EXTENSIONS:
            source = job / "frames"
            if not source.is_dir():
                unpack_frames(upload, source, settings)
        else:
            source = job / f"input{upload.suffix.lower()}"
            if not source.exists():
                _link_or_copy(upload, source)
        check_length(source, settings)
    except VSRError as exc:
        discard(upload)
        shutil.rmtree(job, ignore_errors=True)
        # the reader names the server-side path; the user knows the file by the name they uploaded
        raise InputError(str(exc).replace(str(source), repr(upload.name))) from None
    return source


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def content_key(path: Path, extra: object = None) -> str:
    """SHA-256 (16 hex) of a file's bytes and ``extra`` (settings), naming a resumable job folder."""
    digest = hashlib.sha256(json.dumps(extra, sort_keys=True, default=str).encode())
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:16]


# -------------------------------------------------------------------------------------------------------- upscale
@dataclass
class UpscaleResult:
    """What the Upscale tab shows: the result (``video`` when it is a video, ``file`` always), the comparison pair
    ``(bicubic input, output)`` as two PNGs of the same size, and a status line."""

    video: Path | None = None
    file: Path | None = None
    compare: tuple[Path, Path] | None = None
    message: str = ""


def run_upscale(upload: Path, choice: ModelChoice, temporal: bool, precision: str, tile: int | None,
                compare_frame: int, settings: AppSettings, folder: Path, report: Report,
                cancel: threading.Event) -> UpscaleResult:
    """Upscale an accepted upload with :func:`wildvsr.inference.upscale_video`.

    The job folder depends only on the input bytes and the settings: a cancelled run keeps its finished chunks there
    and the same request resumes them (``resume=True``); a finished one is returned as it is.
    """
    kwargs = upscale_config_kwargs(choice, temporal, precision, tile, settings.device)
    config = UpscaleConfig(**kwargs)
    job = folder / f"upscale-{content_key(upload, config.pixel_settings())}"
    source = stage_input(upload, job, settings)
    single = is_image_path(source) and not source.is_dir()
    output = job / f"{_safe_name(upload.stem)}_x4{'.png' if single else '.mp4'}"
    if not output.exists():
        cancel.clear()
        try:  # upscale_video reports the total through set_total
            upscale_video(source, output, config, progress=ProgressReporter(None, report, cancel, "upscaling"))
        except JobCancelled as exc:
            return UpscaleResult(message=f"Cancelled after {exc.done} frames. The finished chunks are kept: press "
                                         "Upscale again with the same file and settings to resume.")
        except BaseException:
            if not any(job.glob(".*.wildvsr-work")):
                shutil.rmtree(job, ignore_errors=True)  # nothing resumable: leave no files
            raise
        finally:  # the app lives on between jobs: hand this job's cached GPU memory back (other processes, the next job)
            release_cached_memory()
    compare = save_comparison(source, output, compare_frame, job)
    info = read_info(output)
    message = f"Done: {info.num_frames} frame(s) at {info.width}x{info.height}, {info.bit_depth}-bit."
    return UpscaleResult(video=None if single else _playable(output, info.bit_depth, job), file=output,
                         compare=compare, message=message)


def _playable(video: Path, bit_depth: int, job: Path) -> Path:
    """What the page plays: the output, or for a 10-bit output (kept at the source's depth, as the CLI does) an
    8-bit copy, since browsers do not play 10-bit H.264; the download is the output itself."""
    if bit_depth <= 8:
        return video
    preview = job / "preview.mp4"
    if not preview.exists():
        convert_video(video, preview, crf=12, pix_fmt="yuv420p")
    return preview


def comparison_pair(source: Path, output: Path, index: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame ``index`` (clamped to the clip) of the input upscaled with bicubic to the output's size, and of the
    output: two ``(H, W, 3)`` uint8 arrays."""
    low, high = _frame(source, index), _frame(output, index)
    base = bicubic_x4(low[None])[0]
    if base.shape != high.shape:  # outputs at scale 2/3: resize the x4 bicubic to the output grid
        base = np.asarray(Image.fromarray(base).resize((high.shape[1], high.shape[0]), Image.BICUBIC))
    return base, high


def save_comparison(source: Path, output: Path, index: int, folder: Path) -> tuple[Path, Path]:
    """:func:`comparison_pair` written as two PNGs in ``folder`` (served from there, removed with the session)."""
    paths = (folder / f"compare_{int(index)}_bicubic.png", folder / f"compare_{int(index)}_output.png")
    for path, image in zip(paths, comparison_pair(source, output, index)):
        Image.fromarray(image).save(path)
    return paths


def _frame(path: Path, index: int) -> np.ndarray:
    last = None
    with VideoReader(path) as reader:
        for i, frame in enumerate(reader):
            last = frame.image
            if i >= max(0, int(index)):
                break
    if last is None:
        raise InputError(f"{path.name} has no frames")
    return np.ascontiguousarray(last[..., :3])


# -------------------------------------------------------------------------------------------------------- degrade
@dataclass
class DegradeResult:
    """The degraded clip (lossless, as ``wildvsr degrade`` writes it), a browser-playable preview, the stage
    gallery PNG and the sampled parameters JSON."""

    clip: Path
    preview: Path | None
    gallery: Path
    params: Path
    message: str = ""


def run_degrade(upload: Path, preset: str, seed: int, settings: AppSettings, folder: Path, report: Report,
                cancel: threading.Event) -> DegradeResult:
    """Degrade an accepted upload with :func:`wildvsr.degrade.degrade_video` (same seed, same bytes)."""
    job = folder / f"degrade-{uuid.uuid4().hex[:12]}"
    source = stage_input(upload, job, settings)
    single = is_image_path(source) and not source.is_dir()
    clip = job / ("degraded.png" if single else "degraded.mp4")
    cancel.clear()
    try:
        degrade_video(source, clip, DegradeConfig(preset=preset, seed=int(seed), max_frames=settings.max_frames),
                      params_out=job / "params.json", gallery=job / "gallery.png",
                      progress=ProgressReporter(None, report, cancel, "degrading"))  # degrade_video sets the total
        preview = None
        if not single:  # lossless 4:4:4 H.264 does not play in browsers: a 4:2:0 copy for the page only
            preview = convert_video(clip, job / "preview.mp4", crf=12, pix_fmt="yuv420p")
    except BaseException:
        shutil.rmtree(job, ignore_errors=True)
        raise
    finally:
        release_cached_memory()
    return DegradeResult(clip, preview, job / "gallery.png", job / "params.json",
                         f"Done: preset {preset}, seed {int(seed)}.")


# ------------------------------------------------------------------------------------------------------- evaluate
@dataclass
class EvaluateResult:
    """Mean metrics per result (``headers`` + ``rows``), the plots ``evaluate`` wrote (with captions), and its report
    files."""

    headers: list[str]
    rows: list[list]
    plots: list[tuple[Path, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def run_evaluate(results: list[Path], reference: Path | None, protocol: str, settings: AppSettings,
                 folder: Path) -> EvaluateResult:
    """Score each accepted upload with :func:`wildvsr.evaluate.evaluate` (against ``reference`` when given)."""
    if not results:
        raise InputError("no result to evaluate: upload one or more videos")
    job = folder / f"evaluate-{uuid.uuid4().hex[:12]}"
    try:
        ref = stage_input(reference, job / "reference", settings) if reference is not None else None
        means: dict[str, dict[str, float]] = {}
        plots, files = [], []
        for i, upload in enumerate(results):
            name = f"{i + 1}_{_safe_name(upload.stem)}"
            source = stage_input(upload, job / "results" / name, settings)
            out = job / "reports" / name
            out.parent.mkdir(parents=True, exist_ok=True)
            report = evaluate(source, ref, protocol, None, out, name=upload.stem)
            label = upload.stem if len(results) == 1 else f"{upload.stem} ({i + 1})"
            for res in report["methods"].values():
                means[label] = res["mean"]
            plots += [(p, f"{label}: {p.stem}") for p in sorted(out.glob("*.png"))]
            files += [p for p in (out / "results.md", out / "results.json", out / "results.csv") if p.is_file()]
    except BaseException:
        shutil.rmtree(job, ignore_errors=True)
        raise
    metrics = sorted({k for m in means.values() for k in m})
    rows = [[method] + [round(float(m[k]), 4) if k in m else None for k in metrics] for method, m in means.items()]
    return EvaluateResult(["result", *metrics], rows, plots, files)


__all__ = ["DegradeResult", "EvaluateResult", "JobCancelled", "ProgressReporter", "Sessions", "UpscaleResult",
           "accept_upload", "comparison_pair", "content_key", "public_message", "run_degrade", "run_evaluate",
           "run_upscale", "save_comparison", "stage_input"]
