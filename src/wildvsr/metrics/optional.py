"""Optional learned metrics through IQA-PyTorch (``pyiqa``), offline only.

``pyiqa`` has a non-commercial licence, so it is never a dependency (``pip install wildvsr[iqa]`` opts in). A metric
here is *available* only when ``pyiqa`` is installed **and** every weight file it needs is already in pyiqa's cache;
the check reads the file system only (``importlib.util.find_spec`` does not import pyiqa, and nothing is downloaded).
Cache locations are pyiqa 0.1.x's: ``<torch hub dir>/pyiqa/<file>`` (``DEFAULT_CACHE_DIR``) and, for the OpenAI
CLIP backbone of CLIP-IQA, ``<torch hub dir>/clip/RN50.pt``.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from wildvsr.errors import MissingDependencyError
from wildvsr.utils.device import resolve_device

INSTALL_HINT = "pip install pyiqa (non-commercial licence)"


@dataclass(frozen=True)
class PyiqaMetric:
    """One optional metric: our name, pyiqa's name and the cached files it needs (relative to the torch hub dir)."""

    name: str
    pyiqa_name: str | None
    files: tuple[str, ...]
    lower_better: bool
    score_range: str
    description: str
    note: str = ""


PYIQA_METRICS: dict[str, PyiqaMetric] = {m.name: m for m in (
    PyiqaMetric("nrqm", "nrqm", ("pyiqa/NRQM_model.mat",), False, "~0 to ~10",
                "NRQM (Ma et al.)"),
    PyiqaMetric("pi", "pi", ("pyiqa/NRQM_model.mat", "pyiqa/niqe_modelparameters.mat"), True, "~0 and up",
                "Perceptual Index = ((10 - NRQM) + NIQE) / 2"),
    PyiqaMetric("clipiqa", "clipiqa", ("clip/RN50.pt",), False, "0 to 1", "CLIP-IQA (RN50, antonym prompts)"),
    PyiqaMetric("musiq", "musiq", ("pyiqa/musiq_koniq_ckpt-e95806b9.pth",), False, "~0 to ~100",
                "MUSIQ, KonIQ-10k weights"),
    PyiqaMetric("dover", None, (), False, "0 to 1", "DOVER fused video quality score",
                note="not provided by pyiqa 0.1.x (needs the DOVER package and its weights); not available"),
)}


def torch_hub_dir() -> Path:
    """The torch hub directory pyiqa caches under (``$TORCH_HOME/hub``, by default ``~/.cache/torch/hub``)."""
    return Path(torch.hub.get_dir())


def pyiqa_installed() -> bool:
    """Whether ``pyiqa`` can be imported (checked without importing it)."""
    return importlib.util.find_spec("pyiqa") is not None


def availability(name: str, hub_dir: Path | None = None) -> tuple[bool, str]:
    """``(available, one-line reason)`` for an optional metric: ``"available"``, the install hint, or the missing file."""
    metric = PYIQA_METRICS[name]
    if metric.pyiqa_name is None:
        return False, metric.note
    if not pyiqa_installed():
        return False, INSTALL_HINT
    root = hub_dir or torch_hub_dir()
    missing = [str(root / f) for f in metric.files if not (root / f).is_file()]
    if missing:
        return False, f"missing weight file {missing[0]} (wildvsr never downloads; place it there by hand)" + (
            f" and {len(missing) - 1} more" if len(missing) > 1 else "")
    return True, "available"


class PyiqaScorer:
    """Callable ``scorer(img) -> float`` wrapping a pyiqa metric; built only when :func:`availability` is True.

    Images: RGB ``(H, W, 3)`` uint8 [0, 255] or float [0, 1].
    """

    def __init__(self, name: str, device: str | torch.device = "cpu", hub_dir: Path | None = None) -> None:
        ok, reason = availability(name, hub_dir)
        if not ok:
            raise MissingDependencyError(f"metric {name!r} is not available: {reason}")
        import pyiqa  # noqa: PLC0415  (optional, non-commercial: imported only here, after the offline check)

        self.name = name
        self.device = resolve_device(device)
        self._metric = pyiqa.create_metric(PYIQA_METRICS[name].pyiqa_name, device=self.device)

    def __call__(self, img: np.ndarray) -> float:
        arr = np.asarray(img)
        data = arr.astype(np.float32) / 255.0 if arr.dtype == np.uint8 else arr.astype(np.float32)
        tensor = torch.from_numpy(np.ascontiguousarray(data)).permute(2, 0, 1).unsqueeze(0).to(self.device)
        with torch.no_grad():
            return float(self._metric(tensor).item())
