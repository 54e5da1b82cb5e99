"""The work directory that makes an interrupted ``upscale`` resumable.

Beside the output ``OUT`` lives ``.OUT.wildvsr-work/`` holding ``manifest.json`` (the input's fingerprint, the settings
that change pixels, and the finished chunks) and one lossless segment per finished chunk (FFV1 in Matroska, RGB
``bgr0`` for uint8 frames and ``gbrp16le`` for the uint16 frames of a source above 8 bits: decodes to exactly the
frames that were stored). A chunk counts as finished only once the manifest, written
atomically after its segment, lists it, so a kill at any moment leaves a consistent directory. Resuming re-encodes
the stored chunks into the output and computes only the missing ones; because chunks are planned from frame indices
alone, the result is frame-for-frame the one an uninterrupted run gives. A run whose chunks depend on the chunk
before (the temporal stabilizer of per-frame models) also stores that state with the latest finished chunk
(``state_NNNNNN.pt``, tensors only), so a resumed run continues the recurrence exactly where it stopped. The
directory is removed on success.

A manifest that does not match the current input or settings is an error (never silently discarded: it may hold
hours of work); the message says which field differs and how to start over.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import torch

from wildvsr.errors import InputError, OutputExistsError
from wildvsr.inference.chunking import ChunkSpec
from wildvsr.utils.files import atomic_write_text
from wildvsr.video import VideoReader, VideoWriter

if TYPE_CHECKING:
    from wildvsr.inference.segments import Segment

logger = logging.getLogger(__name__)

MANIFEST_VERSION = 1
_SEGMENT_CODEC = "ffv1"
#: Frame dtype -> FFV1 pixel format that stores it losslessly (packed RGB for rgb24, planar 16-bit RGB for rgb48).
_SEGMENT_PIX_FMT = {np.dtype(np.uint8): "bgr0", np.dtype(np.uint16): "gbrp16le"}


def work_dir_for(output: str | os.PathLike) -> Path:
    """The work directory used for ``output``: ``.<name>.wildvsr-work`` in the same folder."""
    out = Path(output)
    return out.parent / f".{out.name}.wildvsr-work"


def input_fingerprint(source: str | os.PathLike, num_frames: int | None) -> dict[str, Any]:
    """What identifies an input: resolved path, size and mtime (for a folder, a hash over its files' names, sizes and
    mtimes), and the frame count when known."""
    path = Path(source).resolve()
    if path.is_dir():
        digest = hashlib.sha256()
        for entry in sorted(path.iterdir()):
            if entry.is_file():
                st = entry.stat()
                digest.update(f"{entry.name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        return {"path": str(path), "listing_sha256": digest.hexdigest(), "num_frames": num_frames}
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns, "num_frames": num_frames}


class WorkDir:
    """Finished chunks of one ``upscale`` run, recorded for ``--resume``.

    Args:
        output: the run's final output path (the work directory sits beside it).
        fingerprint: :func:`input_fingerprint` of the input.
        settings: the settings that change output pixels (``UpscaleConfig.pixel_settings()``).
    """

    def __init__(self, output: str | os.PathLike, fingerprint: dict[str, Any], settings: dict[str, Any]) -> None:
        self.path = work_dir_for(output)
        self.fingerprint = fingerprint
        self.settings = settings
        self.chunks: dict[int, dict[str, Any]] = {}

    @classmethod
    def for_run(cls, output: str | os.PathLike, source: str | os.PathLike, num_frames: int | None,
                settings: dict[str, Any], segment: Segment) -> WorkDir:
        """The work directory of restoring ``source`` (or its ``segment``: the part's label joins the settings, so
        a part never resumes from another part's or the whole run's chunks) into ``output``."""
        if not segment.whole:
            settings = settings | {"segment": segment.label()}
        return cls(output, input_fingerprint(source, num_frames), settings)

    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    # --------------------------------------------------------------------------------------------------- lifecycle
    def open(self, resume: bool) -> int:
        """Create the directory, or (with ``resume``) load a matching one. Returns the number of finished chunks.

        Raises:
            OutputExistsError: the directory exists and ``resume`` is False.
            InputError: ``resume`` and the directory was made for another input or other settings, or is damaged.
        """
        if self.path.exists() and not resume:
            raise OutputExistsError(f"an interrupted run left {self.path}; pass --resume to continue it, "
                                    "or delete that folder to start over")
        if self.path.exists():
            self._load()
            self._drop_unlisted()
            logger.info("resuming: %d finished chunk(s) in %s", len(self.chunks), self.path)
            return len(self.chunks)
        if resume:
            logger.info("--resume given but no work directory %s exists; starting from the beginning", self.path)
        try:
            self.path.mkdir(parents=False)
            self._save()
        except OSError as exc:  # a read-only or virtual file system that os.access() did not reveal
            self.remove()
            raise InputError(f"cannot create the work folder {self.path} ({exc.strerror or exc}); choose another "
                             f"output folder") from exc
        return 0

    def remove(self) -> None:
        """Delete the directory (after a successful run, or when nothing worth resuming was recorded)."""
        shutil.rmtree(self.path, ignore_errors=True)

    @contextlib.contextmanager
    def kept_on_failure(self) -> Iterator[None]:
        """The run inside: on success the directory is removed; on any exception (Ctrl-C included) it is kept for
        ``--resume`` when it lists finished chunks (a warning says so), else removed, and the exception goes on."""
        try:
            yield
        except BaseException:
            if not self.chunks:
                self.remove()  # nothing worth resuming
            else:
                logger.warning("%d chunk(s) are kept in %s; rerun with --resume to continue", len(self.chunks),
                               self.path)
            raise
        self.remove()

    # ------------------------------------------------------------------------------------------------------ chunks
    def has(self, index: int) -> bool:
        return index in self.chunks

    def save_chunk(self, spec: ChunkSpec, frames: np.ndarray, state: dict[str, torch.Tensor] | None = None) -> None:
        """Store a finished chunk's output ``(K, H, W, 3)`` uint8 or uint16 losslessly (and the carried ``state``
        after it, if any), then list it in the manifest. Only the latest chunk's state is kept."""
        name = f"chunk_{spec.index:06d}.mkv"
        tmp = self.path / f".{name}.partial.mkv"
        _write_segment(tmp, frames)
        os.replace(tmp, self.path / name)
        entry = {"start": spec.start, "stop": spec.stop, "file": name, "height": int(frames.shape[1]),
                 "width": int(frames.shape[2])}
        if state is not None:
            entry["state"] = f"state_{spec.index:06d}.pt"
            tmp = self.path / f".{entry['state']}.partial"
            torch.save(state, tmp)
            os.replace(tmp, self.path / entry["state"])
        old_states = [v.pop("state") for v in self.chunks.values() if "state" in v]
        self.chunks[spec.index] = entry
        self._save()
        for old in old_states:  # unlisted now; a kill before this point leaves them to _drop_unlisted
            with contextlib.suppress(OSError):
                (self.path / old).unlink()

    def load_state(self, index: int) -> dict[str, torch.Tensor]:
        """The carried state stored after finished chunk ``index``.

        Raises:
            InputError: none was stored for that chunk.
        """
        name = self.chunks.get(index, {}).get("state")
        if name is None:
            raise InputError(f"{self.path} has no stored state after chunk {index}, which resuming this run needs; "
                             "delete the folder to start over")
        try:
            return torch.load(self.path / name, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, ValueError) as exc:
            raise InputError(f"{self.path / name} is damaged ({exc}); delete {self.path} to start over") from exc

    def load_chunk(self, spec: ChunkSpec) -> np.ndarray:
        """The stored output of a finished chunk, ``(K, H, W, 3)`` of the dtype it was stored with.

        Raises:
            InputError: the stored chunk does not match the plan or cannot be decoded.
        """
        entry = self.chunks[spec.index]
        if (entry["start"], entry["stop"]) != (spec.start, spec.stop):
            raise InputError(f"{self.path}: chunk {spec.index} covers frames {entry['start']}-{entry['stop']} but "
                             f"this run plans {spec.start}-{spec.stop} (the input changed?); delete the folder to "
                             "start over")
        try:
            frames = _read_segment(self.path / entry["file"])
        except (OSError, InputError) as exc:  # VideoReader: VideoIOError (an OSError) or InputError
            raise InputError(f"{self.path / entry['file']} is damaged ({exc}); delete {self.path} to start over"
                             ) from exc
        if frames.shape[0] != spec.num_frames:
            raise InputError(f"{self.path / entry['file']} holds {frames.shape[0]} frames, expected "
                             f"{spec.num_frames}; delete {self.path} to start over")
        return frames

    # ------------------------------------------------------------------------------------------------- manifest
    def _save(self) -> None:
        data = {"version": MANIFEST_VERSION, "input": self.fingerprint, "settings": self.settings,
                "chunks": {str(k): v for k, v in sorted(self.chunks.items())}}
        atomic_write_text(self.manifest_path, json.dumps(data, indent=1, sort_keys=True))

    def _load(self) -> None:
        try:
            data = json.loads(self.manifest_path.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{self.manifest_path} cannot be read ({exc}); delete {self.path} to start over"
                             ) from exc
        if data.get("version") != MANIFEST_VERSION:
            raise InputError(f"{self.path} was written by another wildvsr version; delete it to start over")
        for key, ours in (("input", self.fingerprint), ("settings", self.settings)):
            theirs = data.get(key, {})
            diff = sorted(k for k in set(theirs) | set(ours) if _norm(theirs.get(k)) != _norm(ours.get(k)))
            if diff:
                what = "input file" if key == "input" else "settings"
                raise InputError(f"{self.path} was made for a different {what} (differs in: {', '.join(diff)}); "
                                 "resume with the same input and options, or delete that folder to start over")
        self.chunks = {int(k): v for k, v in data.get("chunks", {}).items()}

    def _drop_unlisted(self) -> None:
        """Remove segments a killed run wrote but never listed (and listed ones whose file is gone)."""
        listed = {name for v in self.chunks.values() for name in (v["file"], v.get("state")) if name}
        for entry in self.path.iterdir():
            if entry.name != "manifest.json" and entry.name not in listed:
                with contextlib.suppress(OSError):
                    entry.unlink()
        missing = [k for k, v in self.chunks.items() if not (self.path / v["file"]).is_file()]
        for k in missing:
            logger.warning("chunk %d is listed in %s but its file is missing; it will be recomputed", k, self.path)
            del self.chunks[k]


def _norm(value: Any) -> Any:
    return json.loads(json.dumps(value))  # tuples vs lists, ints vs floats as JSON sees them


def _write_segment(path: Path, frames: np.ndarray) -> None:
    pix_fmt = _SEGMENT_PIX_FMT[frames.dtype]
    with VideoWriter(path, fps=Fraction(1, 1), codec=_SEGMENT_CODEC, pix_fmt=pix_fmt, overwrite=True) as w:
        for img in frames:
            w.write(np.ascontiguousarray(img))


def _read_segment(path: Path) -> np.ndarray:
    with VideoReader(path, dtype="source") as reader:  # a 16-bit segment reads back as uint16
        frames = [f.image for f in reader.frames()]
    if not frames:
        raise InputError(f"{path} holds no frames")
    return np.stack(frames)

