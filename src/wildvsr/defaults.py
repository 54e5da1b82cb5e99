"""Product defaults, named once and importable without torch (the CLI reads them to build its help cheaply)."""

DEFAULT_UPSCALE_MODEL = "rrdbnet.x4plus"
"""Model ``wildvsr upscale`` uses when none is given: Real-ESRGAN x4plus (per-frame, real-world degradations), chosen by
``benchmarks/realworld_default.py``: on the real clips its NIQE and BRISQUE are the lowest of all methods measured
(8.08 / 26.1 vs BasicVSR's 10.61 / 64.8)."""

FAST_CPU_MODEL = "rcvsr.wild"
"""The model a long CPU job with the default is pointed to (``wildvsr.cli.cost_hint``): wildvsr's compact causal video
model, steadier than x4plus (warping error 0.48x) but softer (NIQE 11.5 vs 8.1), so not the default (README, "Our
compact model")."""

FAST_CPU_SPEEDUP = 19
"""How many times faster :data:`FAST_CPU_MODEL` runs than the default end to end on a CPU, as the hint says it:
1.86 vs 35.7 CPU s per 320x180 frame through ``wildvsr upscale`` (``python benchmarks/compact_cost.py --models
rrdbnet.x4plus rcvsr.wild --frames 4 --precision fp32``, 2-core AMD EPYC)."""

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
Tiling is what keeps large frames inside the memory budget (an untiled 1080p window of 40 frames would need about
45 GB) and lets the planner choose longer chunks (46 frames at 640x360 instead of the floor of 24). Its price is
fidelity to the untiled model: SPyNet sees a tile, not the frame. Measured on 4 real 640x360 frames (videolq_000,
BasicVSR REDS4, fp32, this 2-core CPU; channels-last and strip reconstruction in both): 52.5 dB PSNR from untiled,
rare pixels up to 69 grey levels apart (tile 240: 53.2 dB; 32 or 48 px of context on 200x120 frames: 53.9 / 54.6
dB against 52.5), and 23.1 against 24.2 s per output frame on a long video (planned chunks, one run)."""

AUTO_TILE_MIN_SIDE = 480
"""Frames with a side longer than this get :data:`AUTO_TILE` tiles under ``--tile auto`` (video models only)."""

DEFAULT_TILE_OVERLAP = 16
"""Input pixels of context added around each spatial tile (only used with ``tile``)."""
