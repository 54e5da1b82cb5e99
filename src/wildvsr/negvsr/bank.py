"""Offline noise bank: sharded safetensors of raw RGB window sequences plus a JSON index.

Layout of a bank folder::

    index.json                    format, version, window, length, zero_mean, thresholds, grid, summary,
                                  shards [{file, count}], sequences [{shard, offset, source, clip_start, y, x, stats}]
    shard_00000.safetensors       tensor "sequences": uint8 (N, T, window, window, 3) RGB, exactly the source pixels

The pixels are always stored raw (lossless); ``zero_mean`` only changes what :meth:`NoiseBank.sample` returns.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import save_file
from safetensors.torch import load_file

from wildvsr.errors import InputError
from wildvsr.negvsr.extract import ExtractionConfig, ExtractionSummary, NoiseSequence, extract_noise_sequences
from wildvsr.utils.files import atomic_path

logger = logging.getLogger(__name__)

BANK_FORMAT = "wildvsr-noise-bank"
BANK_VERSION = 1
INDEX_NAME = "index.json"


class NoiseBankWriter:
    """Accumulates noise sequences into shards inside an (already created) folder; :meth:`close` writes the index."""

    def __init__(self, folder: str | os.PathLike, config: ExtractionConfig, shard_size: int = 256) -> None:
        if shard_size < 1:
            raise InputError(f"shard_size must be >= 1, got {shard_size}")
        self.folder = Path(folder)
        self.config = config
        self.shard_size = shard_size
        self._buffer: list[np.ndarray] = []
        self.shards: list[dict] = []
        self.entries: list[dict] = []

    def add(self, seq: NoiseSequence) -> None:
        expected = (self.config.length, self.config.window, self.config.window, 3)
        if seq.frames.shape != expected or seq.frames.dtype != np.uint8:
            raise InputError(f"noise sequence must be uint8 {expected}, got {seq.frames.dtype} {seq.frames.shape}")
        self.entries.append({"shard": len(self.shards), "offset": len(self._buffer), "source": seq.source,
                             "clip_start": seq.clip_start, "y": seq.y, "x": seq.x,
                             "stats": {k: round(v, 6) for k, v in seq.stats.items()}})
        self._buffer.append(seq.frames)
        if len(self._buffer) >= self.shard_size:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        name = f"shard_{len(self.shards):05d}.safetensors"
        save_file({"sequences": np.ascontiguousarray(np.stack(self._buffer))}, str(self.folder / name))
        self.shards.append({"file": name, "count": len(self._buffer)})
        self._buffer = []

    def close(self, summary: ExtractionSummary | None = None) -> dict:
        """Write the last shard and ``index.json``; returns the index."""
        self._flush()
        c = self.config
        index = {"format": BANK_FORMAT, "version": BANK_VERSION, "window": c.window, "length": c.length,
                 "zero_mean": c.zero_mean, "grid": c.grid, "thresholds": c.thresholds(),
                 "count": len(self.entries), "shards": self.shards, "sequences": self.entries,
                 "summary": summary.to_dict() if summary is not None else None}
        (self.folder / INDEX_NAME).write_text(json.dumps(index, indent=1))
        return index


def build_noise_bank(sources: Iterable[str | os.PathLike], out: str | os.PathLike,
                     config: ExtractionConfig | None = None, *, overwrite: bool = False, shard_size: int = 256,
                     progress: Callable[[int], None] | None = None) -> ExtractionSummary:
    """Extract noise sequences from videos into a new bank folder, atomically.

    The bank is built in a temporary folder beside ``out`` and renamed onto it only when complete.

    Args:
        sources: videos, frame folders or images.
        out: the bank folder to create.
        config: extraction settings (None = the official defaults).
        overwrite: replace an existing ``out``.
        shard_size: sequences per shard file.
        progress: called with frames consumed after each clip.

    Returns:
        The extraction counts.

    Raises:
        InputError: no source given, a source shorter than one clip, or no window sequence kept (nothing is written).
        OutputExistsError: ``out`` exists and ``overwrite`` is False, or it is one of the sources.
    """
    sources = [Path(s) for s in sources]
    config = config or ExtractionConfig()
    if not sources:
        raise InputError("no input video given; pass at least one video, frame folder or image")
    summary = ExtractionSummary()
    with atomic_path(out, overwrite=overwrite, directory=True, inputs=sources) as tmp:
        writer = NoiseBankWriter(tmp, config, shard_size)
        for seq in extract_noise_sequences(sources, config, summary=summary, progress=progress):
            writer.add(seq)
        if summary.clips == 0:
            raise InputError(f"no {config.length}-frame clip in the input ({summary.frames_dropped} frames); "
                             f"give longer videos or a smaller --length")
        if summary.kept == 0:
            raise InputError(f"no window sequence met the thresholds ({summary.scanned} scanned, rejected "
                             f"{summary.rejected}); give noisier low-texture footage")
        writer.close(summary)
    logger.info("noise bank %s: %d of %d window sequences kept", out, summary.kept, summary.scanned)
    return summary


def _mirror_index(n: int, size: int, start: int) -> np.ndarray:
    """Indices ``start .. start+n-1`` into a length-``size`` axis, reflected at both ends (0 1 2 1 0 1 2 ...)."""
    i = np.arange(start, start + n)
    if size == 1:
        return np.zeros(n, dtype=np.int64)
    period = 2 * size - 2
    i = i % period
    return np.where(i >= size, period - i, i)


class NoiseBank:
    """Loads a bank folder into memory and draws noise sequences for NegMix.

    All sequences are held in memory as one ``uint8`` tensor (N, T, w, w, 3): 325 sequences of 30 x 64 x 64 are 36 MiB.

    Args:
        path: the bank folder (with ``index.json``).
        zero_mean: override the bank's ``zero_mean`` flag (None = as built).

    Attributes:
        window, length, zero_mean, index: from ``index.json``.
        sequences: ``uint8`` (N, T, w, w, 3).

    Raises:
        InputError: not a bank folder, an unknown version, or a shard that does not match the index.
    """

    def __init__(self, path: str | os.PathLike, *, zero_mean: bool | None = None) -> None:
        self.path = Path(path)
        index_file = self.path / INDEX_NAME
        if not index_file.is_file():
            raise InputError(f"{self.path} is not a noise bank (no {INDEX_NAME}); build one with wildvsr extract-noise")
        try:
            index = json.loads(index_file.read_text())
        except (OSError, ValueError) as exc:
            raise InputError(f"{index_file} is unreadable ({exc}); rebuild the bank with wildvsr extract-noise") from exc
        if index.get("format") != BANK_FORMAT or index.get("version") != BANK_VERSION:
            raise InputError(f"{index_file}: format {index.get('format')!r} version {index.get('version')!r} is not "
                             f"{BANK_FORMAT!r} version {BANK_VERSION}; rebuild it with wildvsr extract-noise")
        self.index = index
        self.window = int(index["window"])
        self.length = int(index["length"])
        self.zero_mean = bool(index["zero_mean"]) if zero_mean is None else zero_mean
        parts = []
        for shard in index["shards"]:
            f = self.path / shard["file"]
            try:
                arr = load_file(str(f))["sequences"]
            except Exception as exc:  # OSError, KeyError, or safetensors' own error type on a corrupt file
                raise InputError(f"noise bank shard {f} is missing or corrupt ({exc}); rebuild the bank") from exc
            if arr.shape[0] != shard["count"] or tuple(arr.shape[1:]) != (self.length, self.window, self.window, 3):
                raise InputError(f"noise bank shard {f} has shape {tuple(arr.shape)}, not what index.json says")
            parts.append(arr)
        if not parts:
            raise InputError(f"noise bank {self.path} is empty; rebuild it from noisier footage")
        self.sequences = torch.cat(parts) if len(parts) > 1 else parts[0]

    @property
    def mix_mode(self) -> str:
        """The NegMix ``mode`` that fits this bank: ``"additive"`` for zero-mean samples, else ``"convex"`` (Eq. 6)."""
        return "additive" if self.zero_mean else "convex"

    def __len__(self) -> int:
        return self.sequences.shape[0]

    def __repr__(self) -> str:
        return (f"NoiseBank({str(self.path)!r}, sequences={len(self)}, length={self.length}, window={self.window}, "
                f"zero_mean={self.zero_mean})")

    def get(self, i: int) -> torch.Tensor:
        """Sequence ``i`` as stored: ``uint8`` (T, w, w, 3)."""
        return self.sequences[i]

    def sample(self, batch: int, length: int, height: int | None = None, width: int | None = None,
               rng: np.random.Generator | torch.Generator | None = None) -> torch.Tensor:
        """Draw ``batch`` noise sequences (with replacement).

        Length and size mismatches: when ``length <= T`` a random run of ``length`` consecutive frames is taken; when
        longer, the sequence is mirrored in time (0 1 ... T-1 T-2 ... 0 1 ...). Spatially the same: a random crop when
        ``height``/``width`` <= window, mirror tiling when larger.

        Args:
            batch: number of sequences B.
            length: frames per sequence.
            height, width: spatial size (None = the bank's window).
            rng: a ``numpy.random.Generator`` or a CPU ``torch.Generator`` (required: no global RNG).

        Returns:
            float32 (B, length, 3, height, width) on the CPU: in [0, 1] (raw bank), or per frame and channel
            zero-mean in [-1, 1] when the bank is zero-mean.
        """
        if rng is None:
            raise TypeError("NoiseBank.sample needs an explicit rng (numpy.random.Generator or torch.Generator)")
        height = self.window if height is None else height
        width = self.window if width is None else width
        if batch < 1 or length < 1 or height < 1 or width < 1:
            raise InputError(f"sample sizes must be >= 1, got batch={batch} length={length} {height}x{width}")

        def randint(high: int) -> int:  # uniform in [0, high)
            if isinstance(rng, torch.Generator):
                return int(torch.randint(high, (1,), generator=rng))
            return int(rng.integers(high))

        out = torch.empty(batch, length, 3, height, width, dtype=torch.float32)
        for b in range(batch):
            seq = self.sequences[randint(len(self))]
            for dim, (want, have) in enumerate(((length, self.length), (height, self.window), (width, self.window))):
                if want <= have:  # a random crop: a view, no copy
                    seq = seq.narrow(dim, randint(have - want + 1), want)
                else:
                    seq = seq.index_select(dim, torch.from_numpy(_mirror_index(want, have, 0)))
            out[b] = seq.permute(0, 3, 1, 2)
        noise = out.div_(255.0)
        if self.zero_mean:
            noise = noise - noise.mean(dim=(-2, -1), keepdim=True)
        return noise
