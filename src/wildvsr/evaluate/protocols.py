"""Evaluation protocols of the papers, each defined once: which frames are scored, how sequences are formed, which
metrics are reported.

* ``videolq`` (RealBasicVSR, Chan et al. CVPR 2022, Sec. 5; followed by NegVSR, VCISR, MGLD-VSR): no ground truth;
  no-reference metrics (NIQE, BRISQUE on the Y channel) on the **first, middle and last** output frame of each
  sequence (middle = ``n // 2``: 100 frames -> 0, 50, 99; our 31-frame ``videolq_000`` -> 0, 15, 30; the Vid4 clips
  030-033 -> 0/20/40, 0/17/33, 0/24/48, 0/23/46 as in NegVSR's ``videolq_sub.py``); per-sequence and mean over all
  scored images.
* ``flir`` (NegVSR, Song et al. AAAI 2024, Sec. 4.1): each frame is split into four equal quarters (top-left,
  top-right, bottom-left, bottom-right), re-assembled as four sequences; only the first 25 frames; then scored like
  ``videolq`` (first, middle, last).
* ``synthetic`` (MGLD-VSR, Yang et al. 2023, Sec. 4.1): each clean sequence is degraded with a named degradation
  preset (default ``realbasicvsr``) and a fixed seed; the methods run on the degraded clip; PSNR/SSIM on the Y channel
  and the warping error (flow from the clean frames) against the clean frames, on every frame.
* ``frames``: every frame, the metrics you ask for (no-reference by default; full-reference with a reference).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from wildvsr.errors import UnknownModelError

__all__ = ["PROTOCOLS", "Protocol", "get_protocol", "list_protocols"]


@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol.

    Attributes:
        name: Registry name.
        citation: Where it is defined.
        description: One line.
        frames: ``"first_middle_last"`` (indices 0, n // 2, n - 1) or ``"all"``.
        max_frames: Only the first ``max_frames`` frames of each sequence exist for the protocol (None: all).
        split_quarters: Split each frame into four equal quarters, giving four sequences (FLIR).
        degrade: Degrade the clean sequences with a preset and seed, and score against them (synthetic).
        metrics: Metrics reported by default.
    """

    name: str
    citation: str
    description: str
    frames: str = "all"
    max_frames: int | None = None
    split_quarters: bool = False
    degrade: bool = False
    metrics: tuple[str, ...] = ("niqe", "brisque")

    def select(self, num_frames: int) -> list[int]:
        """Indices of the scored frames of a sequence of ``num_frames`` frames (after ``max_frames``)."""
        n = num_frames if self.max_frames is None else min(num_frames, self.max_frames)
        if n <= 0:
            return []
        if self.frames == "first_middle_last":
            return sorted({0, n // 2, n - 1})
        return list(range(n))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    Protocol("videolq", "RealBasicVSR (Chan et al., CVPR 2022) Sec. 5; NegVSR videolq_sub.py",
             "NIQE/BRISQUE (Y) on the first, middle (n // 2) and last output frame of each sequence",
             frames="first_middle_last"),
    Protocol("flir", "NegVSR (Song et al., AAAI 2024) Sec. 4.1",
             "each frame split into four equal quarters -> four sequences; first 25 frames; first, middle, last",
             frames="first_middle_last", max_frames=25, split_quarters=True),
    Protocol("synthetic", "MGLD-VSR (Yang et al., 2023) Sec. 4.1",
             "clean sequences degraded with a preset and fixed seed; PSNR/SSIM (Y) and warping error vs the clean "
             "frames, every frame", frames="all", degrade=True, metrics=("psnr_y", "ssim_y", "warping_error")),
    Protocol("frames", "wildvsr", "every frame, the requested metrics", frames="all"),
)}


def list_protocols() -> list[str]:
    return list(PROTOCOLS)


def get_protocol(name: str | Protocol) -> Protocol:
    """The protocol called ``name``.

    Raises:
        UnknownModelError: an unknown name (the message lists the valid ones).
    """
    if isinstance(name, Protocol):
        return name
    key = str(name).lower()
    if key not in PROTOCOLS:
        raise UnknownModelError(f"unknown protocol {name!r}; choose one of {', '.join(PROTOCOLS)}")
    return PROTOCOLS[key]
