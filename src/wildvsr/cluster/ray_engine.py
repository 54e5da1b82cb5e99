"""Upscaling on a Ray cluster: the driver cuts every input into segments, Ray runs each segment as a task on a worker
(one GPU per task when the cluster has GPUs, else a node's CPUs), and the driver joins the finished segments of each
input, without re-encoding, into its output with the source's audio and subtitles (issue 28).

Everything a worker writes goes to a work folder beside each output (``.OUT.wildvsr-segments/``), which every worker
must reach at the same path: on a real cluster a shared file system (NFS, CephFS, Lustre, a cloud file store mounted
on every node); object storage only through such a mount. The folder holds the plan (``plan.json``: the input's
fingerprint, the settings, the segments) and one finished part per segment, written atomically; a segment a worker
was killed in keeps its finished chunks in the part's own resume folder. So nothing is lost when a worker dies (Ray
retries its task, which resumes the part) or when the driver dies (a rerun of the same command skips finished parts).

Ray is an optional dependency (``pip install 'wildvsr[cluster]'``); it is imported only here.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wildvsr.cluster.plan import auto_segment_frames, plan_segments
from wildvsr.errors import ConfigError, InputError, OutputExistsError, VSRError
from wildvsr.inference.batch import BatchResult
from wildvsr.inference.config import UpscaleConfig
from wildvsr.inference.segments import Segment

logger = logging.getLogger(__name__)

__all__ = ["SegmentPlan", "connect", "plan_input", "upscale_on_cluster"]

TASK_RETRIES = 3
"""Times Ray reruns a segment whose worker process or node died (a task that raised an error is not retried: our
errors are about the input or the settings and would fail again)."""

POLL_SECONDS = 0.5
"""How often the driver refreshes the progress of running segments."""


# ------------------------------------------------------------------------------------------------------ connecting
def connect(cluster: str) -> Any:
    """Attach to the Ray cluster ``cluster`` names: ``ray`` (the cluster in ``RAY_ADDRESS``, else a local one started
    for this run) or ``ray://HOST:PORT`` (Ray Client). Returns the ``ray`` module.

    Raises:
        ConfigError: Ray is not installed, or a malformed address.
    """
    try:
        import ray
    except ImportError:
        raise ConfigError("--cluster needs Ray: pip install 'wildvsr[cluster]'") from None
    if cluster == "ray":
        address = os.environ.get("RAY_ADDRESS") or None
    elif cluster.startswith("ray://"):
        address = cluster
    else:
        raise ConfigError(f"--cluster takes 'ray' (RAY_ADDRESS, or a local cluster) or ray://HOST:PORT, got "
                          f"{cluster!r}")
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, logging_level=logging.ERROR, log_to_driver=False)
    return ray


def _task_resources(ray, cpus_per_task: int | None, device: str) -> dict[str, float]:
    """One GPU per segment when the cluster has GPUs and ``device`` is not ``cpu`` (Ray then shows the task only its
    GPU, so ``auto``/``cuda`` mean that one); otherwise ``cpus_per_task`` CPUs (default: the CPUs of the smallest alive
    node, so one segment runs per machine and PyTorch uses all its cores)."""
    if device != "cpu" and ray.cluster_resources().get("GPU", 0) >= 1:
        return {"num_gpus": 1, "num_cpus": 1}
    if cpus_per_task is None:
        nodes = [n["Resources"].get("CPU", 0) for n in ray.nodes() if n.get("Alive")]
        cpus_per_task = int(min((c for c in nodes if c >= 1), default=1))
    return {"num_cpus": max(1, cpus_per_task)}


# ------------------------------------------------------------------------------------------------------ planning
@dataclass(frozen=True)
class SegmentPlan:
    """The segments of one input and where their parts go.

    Attributes:
        source, output: the input and its final output.
        folder: the work folder (parts, ``plan.json``).
        segments: frames ``[start, stop)`` of each part, covering the input in order.
        config: the settings every worker runs (chunk length fixed by the driver, so every worker cuts the same
            chunks; resume on, so a retried task continues its part).
    """

    source: Path
    output: Path
    folder: Path
    segments: tuple[Segment, ...]
    config: UpscaleConfig
    overwrite: bool = False
    lead_in: int = 0
    right_context: int = 0

    def part(self, index: int) -> Path:
        """The finished part of segment ``index`` (same container as the output: its timestamps keep their unit)."""
        return self.folder / f"part_{index:05d}{self.output.suffix}"

    def todo(self) -> list[int]:
        """Segments whose part is not finished."""
        return [i for i in range(len(self.segments)) if not self.part(i).exists()]


def segment_folder(output: Path) -> Path:
    """``.OUT.wildvsr-segments`` beside ``output``."""
    return output.parent / f".{output.name}.wildvsr-segments"


def plan_input(source: Path, output: Path, config: UpscaleConfig, *, segment_frames: int | None = None,
               planner=None) -> SegmentPlan:
    """Plan one input on the driver: its exact frame count and key frames (from packets, no decoding), the chunk
    length and lead-in of its upscale plan (the model is built on the driver's CPU for that, never run), the
    segments, and the work folder with its ``plan.json`` (a folder left by another plan is an error, never mixed).
    ``planner``: that CPU upscaler, built once for many inputs of one config (:func:`planning_upscaler`).

    Raises:
        InputError, VideoIOError, ConfigError: a bad input, output or setting, in one line.
    """
    from wildvsr.inference.resume import input_fingerprint
    from wildvsr.video import VideoReader, is_video_path
    from wildvsr.video.keyframes import keyframe_indices

    if not is_video_path(output):
        raise InputError(f"--cluster writes video files; {output} is not one (give an .mp4/.mkv/... output)")
    with VideoReader(source) as reader:
        info = reader.info
        num_frames = reader.count_frames()
    keyframes = None
    if source.is_file() and is_video_path(source):
        keyframes, counted = keyframe_indices(source)
        num_frames = counted or num_frames
    plan = (planner or planning_upscaler(config)).plan(info.height, info.width)
    right_context = plan.overlap if plan.temporal else 0
    # extra work per segment: the lead-in when it is no chunk's context (a stabilizer's or a streaming model's warm-up)
    length = segment_frames or auto_segment_frames(plan.chunk_size, plan.lead_in if plan.overlap == 0 else 0)
    segments = tuple(plan_segments(num_frames, length, plan.chunk_size, plan.lead_in, keyframes))
    # Ray shows a GPU task only its own GPU, so cuda:N on the driver's command line means "the task's GPU" there
    device = "cuda" if config.device.startswith("cuda") else config.device
    worker_config = dataclasses.replace(config, chunk_size=plan.chunk_size, resume=True, overwrite=False,
                                        device=device)
    folder = segment_folder(output)
    record = {"input": input_fingerprint(source, num_frames), "settings": _jsonable(worker_config.to_dict()),
              "chunk_size": plan.chunk_size, "lead_in": plan.lead_in,
              "segments": [[s.start, s.stop] for s in segments]}
    _open_folder(folder, record)
    return SegmentPlan(source, output, folder, segments, worker_config, overwrite=config.overwrite,
                       lead_in=plan.lead_in, right_context=right_context)


def planning_upscaler(config: UpscaleConfig):
    """The upscaler the driver plans with: the model built on the CPU (never run: no GPU is taken on the driver)."""
    from wildvsr.inference.runner import build_upscaler

    return build_upscaler(dataclasses.replace(config, device="cpu"))


def _jsonable(data: dict) -> dict:
    return json.loads(json.dumps(data, default=str))


def _open_folder(folder: Path, record: dict) -> None:
    """Create the work folder with its plan, or check that an existing one holds this very plan."""
    path = folder / "plan.json"
    if path.exists():
        try:
            old = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{path} is unreadable ({exc}); delete {folder} to start over") from None
        for key in record:
            if old.get(key) != record[key]:
                raise InputError(f"{folder} holds segments of another {key} ({key} differs); rerun with the "
                                 f"settings it was made with, or delete that folder to start over")
        return
    try:
        folder.mkdir(parents=False, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the work folder {folder} ({exc.strerror or exc})") from None
    tmp = folder / ".plan.json.partial"
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------------------ workers
def _progress_actor(ray):
    @ray.remote(num_cpus=0)
    class FrameCounter:
        """Frames finished per segment, as its latest attempt reports them (a retried segment starts again from 0,
        and counts its resumed chunks as it restores them)."""

        def __init__(self) -> None:
            self.done: dict[str, int] = {}

        def start(self, key: str) -> None:
            self.done[key] = 0

        def add(self, key: str, frames: int) -> None:
            self.done[key] = self.done.get(key, 0) + frames

        def total(self) -> int:
            return sum(self.done.values())

    return FrameCounter.remote()


def run_segment(source: str, part: str, start: int, stop: int, config: dict, counter: Any, key: str
                ) -> dict[str, Any]:
    """One segment on a worker: upscale frames ``[start, stop)`` of ``source`` into ``part`` (atomic, resumable),
    reporting frames to ``counter``. Returns where and how long it ran."""
    import torch

    from wildvsr.inference import upscale_video

    began = time.monotonic()
    threads = _assigned_cpus()
    if threads:
        torch.set_num_threads(threads)
    if counter is not None:
        counter.start.remote(key)
    _claim(Path(part))

    def progress(frames: int) -> None:
        if counter is not None:
            counter.add.remote(key, frames)

    if not Path(part).exists():  # a retry after the part was finished but before the driver heard of it
        settings = UpscaleConfig.from_dict(config)
        upscale_video(source, part, settings, progress=progress, upscaler=_cached_upscaler(settings),
                      segment=Segment(start, stop), copy_streams=False)
    return {"host": socket.gethostname(), "pid": os.getpid(), "seconds": time.monotonic() - began,
            "frames": stop - start}


_UPSCALER: dict[str, Any] = {}
"""The last upscaler a worker process built, by its settings: Ray reuses worker processes, so the next segment with
the same settings skips loading the model (the resume manifest still records the model by name and weights)."""


def _cached_upscaler(config: UpscaleConfig):
    from wildvsr.inference.runner import build_upscaler

    key = json.dumps(config.to_dict(), sort_keys=True, default=str)
    if key not in _UPSCALER:
        _UPSCALER.clear()
        _UPSCALER[key] = build_upscaler(config)
    return _UPSCALER[key]


def worker_file(part: Path) -> Path:
    """``.PART.worker``: the host and process working on a part (JSON), for a person watching a cluster (and the
    worker-kill test)."""
    return part.parent / f".{part.name}.worker"


def _claim(part: Path) -> None:
    tmp = part.parent / f".{part.name}.worker.partial"
    tmp.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}))
    os.replace(tmp, worker_file(part))


def _assigned_cpus() -> int | None:
    try:
        import ray

        cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    except Exception:  # not inside a Ray task
        return None
    return int(cpus) if cpus and cpus >= 1 else None


# ------------------------------------------------------------------------------------------------------ driver
def upscale_on_cluster(pairs: list[tuple[Path, Path]], config: UpscaleConfig, *, cluster: str = "ray",
                       segment_frames: int | None = None, cpus_per_task: int | None = None,
                       progress: Callable[[int], None] | None = None, skip_existing: bool = False,
                       log: Callable[[str], None] = logger.info) -> BatchResult:
    """Upscale every ``(input, output)`` pair on a Ray cluster, segment by segment; join each input's parts into its
    output as soon as they are all finished.

    Args:
        pairs: inputs and their outputs (video files).
        config: the settings (as for :func:`~wildvsr.inference.upscale_video`).
        cluster: ``ray`` or ``ray://HOST:PORT`` (:func:`connect`).
        segment_frames: frames per segment (rounded to whole chunks); None: :func:`auto_segment_frames`.
        cpus_per_task: CPUs a segment asks for on a cluster without GPUs (None: a whole node's).
        progress: ``advance(frames)`` across all segments (its ``set_total`` gets the frames of all inputs).
        skip_existing: an existing output counts as finished (many inputs); else it is an error without
            ``config.overwrite`` (one input, as for a local run).
        log: where the line of each finished segment and joined output goes.

    Returns:
        A :class:`~wildvsr.inference.batch.BatchResult` (inputs done, skipped, failed with their message); a :class:`VSRError` of one input (bad file, bad output) fails that input only.
    """
    result = BatchResult()
    plans = []
    planner = None  # built at the first input that needs planning, then shared (the model loads once)
    for source, output in pairs:
        if output.exists() and not config.overwrite:
            if not skip_existing:
                raise OutputExistsError(f"output {output} exists; pass --overwrite to replace it")
            result.skipped.append(source)
            log(f"{output} exists: skipped")
            continue
        try:
            planner = planner or planning_upscaler(config)
            plans.append(plan_input(source, output, config, segment_frames=segment_frames, planner=planner))
        except VSRError as exc:
            result.failed[source] = str(exc)
            log(f"FAILED {source}: {exc}")
    if plans:
        ray = connect(cluster)
        _Driver(ray, plans, _task_resources(ray, cpus_per_task, config.device), result, progress, log).run()
    return result


class _Driver:
    """Submits the unfinished segments of every plan, follows them, and joins each input once its parts are done."""

    def __init__(self, ray, plans: list[SegmentPlan], resources: dict[str, float], result: BatchResult,
                 progress: Callable[[int], None] | None, log: Callable[[str], None]) -> None:
        self.ray, self.plans, self.resources, self.result = ray, plans, resources, result
        self.progress, self.log = progress, log
        self.counter = _progress_actor(ray)
        self.task = ray.remote(max_retries=TASK_RETRIES, retry_exceptions=False)(run_segment).options(**resources)
        self.pending: dict[Any, tuple[SegmentPlan, int]] = {}
        self.failed: set[int] = set()  # id() of plans that failed
        self.reported = 0

    def run(self) -> None:
        self._start_progress()
        for plan in self.plans:
            todo = plan.todo()
            for i in todo:
                a, b = _bounds(plan.segments[i])
                ref = self.task.remote(str(plan.source.resolve()), str(plan.part(i).resolve()), a, b,
                                       _jsonable(plan.config.to_dict()), self.counter, f"{plan.output}:{i}")
                self.pending[ref] = (plan, i)
            if not todo:  # every part was finished by an earlier run
                _join(plan, self.result, self.log)
        try:
            while self.pending:
                ready, _ = self.ray.wait(list(self.pending), num_returns=1, timeout=POLL_SECONDS)
                self._update_progress()
                for ref in ready:
                    self._finished(ref)
        finally:
            for ref in self.pending:
                self.ray.cancel(ref)

    def _start_progress(self) -> None:
        frames = [(len(range(*_bounds(s))), plan.part(i).exists()) for plan in self.plans
                  for i, s in enumerate(plan.segments)]
        nodes = len([n for n in self.ray.nodes() if n.get("Alive")])
        self.log(f"{len(self.plans)} input(s), {len(frames)} segment(s), {sum(n for n, _ in frames)} frames on "
                 f"{nodes} node(s); each segment asks for {self.resources}")
        if self.progress is None:
            return
        if hasattr(self.progress, "set_total"):
            self.progress.set_total(sum(n for n, _ in frames))
        if before := sum(n for n, done in frames if done):
            self.progress(before)

    def _update_progress(self) -> None:
        if self.progress is None:
            return
        now = self.ray.get(self.counter.total.remote())
        if now > self.reported:
            self.progress(now - self.reported)
            self.reported = now

    def _finished(self, ref) -> None:
        plan, i = self.pending.pop(ref)
        if id(plan) in self.failed:
            return
        try:
            info = self.ray.get(ref)
        except Exception as exc:  # the task raised (a VSRError of this input), or its worker died too often
            self.failed.add(id(plan))
            message = _task_error(exc)
            self.result.failed[plan.source] = message
            self.log(f"FAILED {plan.source}: {message}")
            for other, (p, _) in list(self.pending.items()):
                if p is plan:
                    self.ray.cancel(other)
            return
        a, b = _bounds(plan.segments[i])
        self.log(f"{plan.source.name}: segment {i + 1}/{len(plan.segments)} (frames {a}-{b - 1}) done on "
                 f"{info['host']} in {info['seconds']:.1f} s")
        if not plan.todo():
            _join(plan, self.result, self.log)


def _bounds(segment: Segment) -> tuple[int, int]:
    assert segment.stop is not None  # planned segments always end
    return segment.start, segment.stop


def _join(plan: SegmentPlan, result: BatchResult, log: Callable[[str], None]) -> None:
    """Join an input's finished parts into its output (audio and subtitles from the source), then drop the work
    folder."""
    from wildvsr.video import is_video_path
    from wildvsr.video.join import join_segments

    streams = plan.source if plan.source.is_file() and is_video_path(plan.source) else None
    try:
        join_segments([plan.part(i) for i in range(len(plan.segments))], plan.output, streams_from=streams,
                      overwrite=plan.overwrite)
    except VSRError as exc:
        result.failed[plan.source] = str(exc)
        log(f"FAILED {plan.source}: joining its segments: {exc}")
        return
    shutil.rmtree(plan.folder, ignore_errors=True)
    result.done.append(plan.source)
    log(f"wrote {plan.output} ({len(plan.segments)} segment(s) joined)")


def _task_error(exc: BaseException) -> str:
    """One line for a failed task: the worker's own error message (a VSRError), or what Ray says about a worker that
    kept dying."""
    cause = getattr(exc, "cause", None)
    if isinstance(cause, VSRError):
        return str(cause)
    text = str(exc).strip().splitlines()
    return text[-1] if text else type(exc).__name__
