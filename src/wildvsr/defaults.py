"""Product defaults, named once and importable without torch (the CLI reads them to build its help cheaply)."""

DEFAULT_UPSCALE_MODEL = "basicvsr"
"""Model ``wildvsr upscale`` uses when none is given: the official BasicVSR (REDS4 weights), until the project ships
its own real-world weights (a clean x4 model: it sharpens but does not remove real-world noise or compression)."""

DEFAULT_TEMPORAL = "fusion"
"""Temporal stabilizer ``--temporal auto`` gives per-frame models (a name in
``wildvsr.inference.stabilizer_settings.STABILIZERS``); temporal models get none."""

DEFAULT_CHUNK_SIZE = 24
"""Frames kept per temporal chunk (see ``benchmarks/chunk_overlap_curve.py`` for the overlap/quality trade-off)."""

DEFAULT_OVERLAP = 8
"""Extra context frames on each side of a chunk; the recurrence is bidirectional so both sides are needed."""

DEFAULT_TILE_OVERLAP = 16
"""Input pixels of context added around each spatial tile (only used with ``tile``)."""
