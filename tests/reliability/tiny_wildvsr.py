"""``python tiny_wildvsr.py ARGS``: the real ``wildvsr`` CLI (its ``main``, signal handling and exit codes) with one
extra registry entry, ``tiny``: the TinyBiRecurrent x4 model of the inference tests, which sleeps
``TINY_DELAY`` seconds per call. Kill and resume tests then pace a run by the clock instead of by CPU load (the
machine is shared), and bad-input runs do not spend seconds building SPyNet."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "inference"))
from inference_testutils import TinyBiRecurrent  # noqa: E402

from wildvsr.models import ModelSpec, register_model  # noqa: E402


class SlowTiny(TinyBiRecurrent):
    def forward(self, lqs):  # noqa: ANN001
        time.sleep(float(os.environ.get("TINY_DELAY", "0")))
        return super().forward(lqs)


register_model("tiny", SlowTiny, ModelSpec(temporal=True), description="test-only tiny recurrent x4 model")

if __name__ == "__main__":
    from wildvsr.cli import main

    main()
