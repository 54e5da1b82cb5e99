"""Product defaults, named once and importable without torch (the CLI reads them to build its help cheaply)."""

DEFAULT_UPSCALE_MODEL = "rrdbnet.x4plus"
"""Model ``wildvsr upscale`` uses when none is given: Real-ESRGAN x4plus (per-frame, real-world degradations), chosen by
``benchmarks/realworld_default.py``: on the real clips its NIQE and BRISQUE are the lowest of all methods measured
(8.08 / 26.1 vs BasicVSR's 10.61 / 64.8)."""

DEFAULT_TEMPORAL = "off"
"""Temporal stabilizer ``--temporal auto`` gives per-frame models (``off`` or a name in
``wildvsr.inference.stabilizer_settings.STABILIZERS``); temporal models get none. Chosen by the rule of
``benchmarks/realworld_default.py`` (lowest NIQE among settings with warping error <= 0.7x the plain model's and
BRISQUE <= 1.2x the best): no stabilizer setting met both bounds (``fusion``: 0.56x warping error, NIQE +0.29,
BRISQUE 1.31x the best), so none is on by default; ``--temporal fusion`` turns it on."""

RECOMMENDED_STABILIZER = "fusion"
"""The stabilizer setting a user gets by asking for one (the web app's checkbox, README): the measured knee of the
trade-off curve (0.56x warping error at NIQE +0.29 for x4plus; ``fusion-strong`` gains only 0.08x more)."""

DEFAULT_CHUNK_SIZE = 24
"""Frames per chunk for per-frame models (they need no overlap, so the length only sets the resume granularity), and
the shortest chunk the planner gives a video model (see ``benchmarks/chunk_overlap_curve.py`` for the overlap/quality
trade-off)."""

MAX_CHUNK_SIZE = 192
"""Longest chunk the planner gives a video model (resume granularity and time to the first finished chunk)."""

DEFAULT_MEMORY_BUDGET_GIB = 4.0
"""Estimated memory one model call of a video model may use: its chunk length is the longest whose context window
fits (long chunks for small frames, short ones for large frames), so recomputed overlap frames are a small share of
the work while memory stays flat in the video length. ``--chunk-size`` overrides it."""

DEFAULT_OVERLAP = 8
"""Extra context frames on each side of a chunk; the recurrence is bidirectional so both sides are needed."""

AUTO_TILE = 320
"""Tile core (input pixels) ``--tile auto`` gives a video model when a frame side exceeds :data:`AUTO_TILE_MIN_SIDE`.
Measured on 6 real 640x360 frames of videolq_000 with BasicVSR REDS4 (fp32, this 2-core CPU): 21.5 s/frame tiled
(2x2 tiles, 16 px context) vs 31.2 untiled (feature maps that fit the cache), 70.4 dB PSNR between the two (max 1 grey
level), and a smaller model call, so longer planned chunks (fewer recomputed frames)."""

AUTO_TILE_MIN_SIDE = 480
"""Frames with a side longer than this get :data:`AUTO_TILE` tiles under ``--tile auto`` (video models only)."""

DEFAULT_TILE_OVERLAP = 16
"""Input pixels of context added around each spatial tile (only used with ``tile``)."""
