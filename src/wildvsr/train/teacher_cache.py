"""On-disk cache of teacher outputs: safetensors shards plus an ``index.json``, keyed by clip, frame and crop.

A per-frame teacher turns one LQ frame crop ``(3, h, w)`` into one output ``(3, 4h, 4w)``; that output is stored under
a key naming where the frame came from (``source/clip/frame/crop/flips[/degradation]``, see :func:`frame_key`). The
index also records a digest of the input frame, so a lookup only hits when the input is bit-identical to the one the
output was made from: a cached output is always the output a fresh teacher call would give (same device and dtype;
outputs are stored in the dtype the teacher produced). A key whose input changed (a synthetic crop degraded with other
noise) is recomputed and replaced.

Writes are atomic: a shard is written (temp file + rename) before the index that names it, so an interrupted run
leaves at most an unreferenced shard; a resumed run reads the index and continues. ``teacher_id`` (the teacher's
name, weights, sizes and precision) is stored in the index; a cache made by another teacher is refused.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from wildvsr.errors import ConfigError
from wildvsr.utils.files import atomic_write_bytes, atomic_write_text

logger = logging.getLogger(__name__)

INDEX = "index.json"
FORMAT = "wildvsr-teacher-cache"


def frame_key(source: str, clip: str, frame: int, crop: tuple[int, int, int], flips: tuple[bool, ...],
              degradation: int | None = None) -> str:
    """The cache key of one frame crop: ``source/clip/f{frame}/y{top}x{left}s{size}/{flip bits}[/d{id}]``.

    ``degradation``: the sample id whose seed degraded a synthetic frame (None for real LQ).
    """
    top, left, size = crop
    bits = "".join("1" if f else "0" for f in flips)
    key = f"{source}/{clip}/f{frame:06d}/y{top}x{left}s{size}/{bits}"
    return key if degradation is None else f"{key}/d{degradation}"


def input_digest(frame: torch.Tensor) -> str:
    """SHA-256 (32 hex) of a frame's values (float32, CPU, contiguous): what the cached output was computed from."""
    data = frame.detach().float().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes()
    return hashlib.sha256(data).hexdigest()[:32]


class TeacherCache:
    """Teacher outputs on disk (one folder; one writer process).

    Args:
        root: cache folder (created).
        teacher_id: identity of the teacher (name, weights, kwargs, precision); must match an existing index.
        shard_mb: pending outputs are written as a shard once they exceed this size.
    """

    def __init__(self, root: str | os.PathLike, teacher_id: str, shard_mb: int = 256) -> None:
        from safetensors import safe_open

        self._safe_open = safe_open
        self.root, self.teacher_id, self.shard_bytes = Path(root), teacher_id, shard_mb << 20
        self.root.mkdir(parents=True, exist_ok=True)
        self.entries: dict[str, tuple[str, str]] = {}  # key -> (shard file, input digest)
        self.pending: dict[str, tuple[torch.Tensor, str]] = {}
        self._pending_bytes, self._handles = 0, {}
        self.hits = self.misses = 0
        index = self.root / INDEX
        if index.is_file():
            data = json.loads(index.read_text())
            if data.get("format") != FORMAT or data.get("teacher") != teacher_id:
                raise ConfigError(f"distill.teacher.cache_dir: {self.root} holds outputs of another teacher "
                                  f"({data.get('teacher')!r}, this run: {teacher_id!r}); choose another folder")
            self.entries = {k: (v[0], v[1]) for k, v in data["entries"].items()}
            logger.info("teacher cache %s: %d outputs", self.root, len(self.entries))

    def __len__(self) -> int:
        return len(set(self.entries) | set(self.pending))

    def get(self, key: str, digest: str) -> torch.Tensor | None:
        """The cached output of ``key`` if it was made from an input with ``digest``, else None (a miss)."""
        if key in self.pending:
            tensor, d = self.pending[key]
            if d == digest:
                self.hits += 1
                return tensor
        elif key in self.entries and self.entries[key][1] == digest:
            self.hits += 1
            return self._handle(self.entries[key][0]).get_tensor(key)
        self.misses += 1
        return None

    def put(self, key: str, digest: str, output: torch.Tensor) -> None:
        """Remember ``output`` (any device; stored on CPU in its dtype) for ``key``; written at the next flush."""
        tensor = output.detach().to("cpu").contiguous().clone()
        old = self.pending.get(key)
        self._pending_bytes += tensor.numel() * tensor.element_size() - (
            old[0].numel() * old[0].element_size() if old else 0)
        self.pending[key] = (tensor, digest)
        if self._pending_bytes >= self.shard_bytes:
            self.flush()

    def flush(self) -> Path | None:
        """Write the pending outputs as one new shard, then the index naming it (both atomic)."""
        if not self.pending:
            return None
        from safetensors.torch import save

        n = 0
        while (self.root / f"shard_{n:06d}.safetensors").exists():
            n += 1
        name = f"shard_{n:06d}.safetensors"
        blob = save({k: t for k, (t, _) in self.pending.items()}, metadata={"teacher": self.teacher_id})
        path = atomic_write_bytes(self.root / name, blob)
        self.entries.update({k: (name, d) for k, (_, d) in self.pending.items()})
        self.pending, self._pending_bytes = {}, 0
        index = {"format": FORMAT, "version": 1, "teacher": self.teacher_id,
                 "entries": {k: list(v) for k, v in sorted(self.entries.items())}}
        atomic_write_text(self.root / INDEX, json.dumps(index), overwrite=True)
        return path

    def _handle(self, shard: str) -> Any:
        if shard not in self._handles:
            self._handles[shard] = self._safe_open(str(self.root / shard), framework="pt")
        return self._handles[shard]
