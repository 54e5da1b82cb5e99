"""The shared helpers of tests/conftest.py, loaded by path under a unique name.

``from conftest import ...`` depends on which folder's conftest.py pytest imported last (tests/train has its own), so
these tests never import the module named ``conftest``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_NAME = "_wildvsr_tests_root_conftest_for_metrics"
if _NAME not in sys.modules:
    _spec = importlib.util.spec_from_file_location(_NAME, Path(__file__).resolve().parents[1] / "conftest.py")
    _module = importlib.util.module_from_spec(_spec)
    sys.modules[_NAME] = _module
    _spec.loader.exec_module(_module)

shared_path = sys.modules[_NAME].shared_path
synthetic_frames = sys.modules[_NAME].synthetic_frames

__all__ = ["shared_path", "synthetic_frames"]
