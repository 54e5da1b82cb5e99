"""Evaluation: the papers' protocols (``videolq``, ``flir``, ``synthetic``, ``frames``), running methods on datasets,
and reports (JSON, CSV, markdown, plots, a self-contained HTML comparison page).

``evaluate(outputs, reference=None, protocol=...)`` scores existing results; ``benchmark(dataset, BenchmarkConfig(methods, ...), out_dir)``
runs methods (``bicubic``, registered models) and scores them.
"""

from wildvsr.evaluate.datasets import list_sequences, load_frames, split_quarters
from wildvsr.evaluate.protocols import PROTOCOLS, Protocol, get_protocol, list_protocols
from wildvsr.evaluate.runner import BenchmarkConfig, BenchmarkResult, benchmark, degrade_clip, evaluate

__all__ = ["PROTOCOLS", "Protocol", "BenchmarkConfig", "BenchmarkResult", "benchmark", "degrade_clip", "evaluate", "get_protocol", "list_protocols",
           "list_sequences", "load_frames", "split_quarters"]
