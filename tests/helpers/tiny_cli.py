"""``python -m helpers.tiny_cli ARGS`` (``tests/`` on ``PYTHONPATH``: :func:`helpers.cli.cli_env`): the real
``wildvsr`` CLI (its ``main``, signal handling and exit codes) with one extra registry entry, ``tiny``: the
TinyBiRecurrent x4 model of :mod:`helpers.models`, which sleeps ``TINY_DELAY`` seconds per call. Kill and resume tests
then pace a run by the clock instead of by CPU load (the machine is shared), and bad-input runs do not spend seconds
building SPyNet."""

from __future__ import annotations

import os
import time

from helpers.models import TinyBiRecurrent

from wildvsr.models import ModelSpec, register_model


class SlowTiny(TinyBiRecurrent):
    def forward(self, lqs):  # noqa: ANN001
        time.sleep(float(os.environ.get("TINY_DELAY", "0")))
        return super().forward(lqs)


register_model("tiny", SlowTiny, ModelSpec(temporal=True), description="test-only tiny recurrent x4 model")

if __name__ == "__main__":
    from wildvsr.cli import main

    main()
