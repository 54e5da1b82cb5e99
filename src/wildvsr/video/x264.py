"""libx264 without its AVX-512 kernels, so that the same frames always give the same bytes.

Measured on this project's AVX-512 machine (AMD EPYC, libx264 core 165 in PyAV 18.1): encoding the same six
26x36 frames at an average bit rate gave 2-5 different bitstreams in 60 encodes within one process, depending only
on what the heap held before (CRF mode, mpeg4 and valgrind's emulated CPU showed nothing). With x264's ``asm`` set
to this CPU's instruction sets up to AVX2, 0 of 140 repeated degradations differed (17 of 40 before).
"""

from __future__ import annotations

import functools
from pathlib import Path

# /proc/cpuinfo flag -> x264 cpu name (x264_cpu_names); each x264 name implies the older sets it needs.
_X264_NAMES = (("sse", "MMX2"), ("sse", "SSE"), ("sse2", "SSE2"), ("pni", "SSE3"), ("ssse3", "SSSE3"),
               ("sse4_1", "SSE4.1"), ("sse4_2", "SSE4.2"), ("avx", "AVX"), ("fma", "FMA3"), ("bmi1", "BMI1"),
               ("bmi2", "BMI2"), ("avx2", "AVX2"), ("abm", "LZCNT"))


@functools.cache
def x264_asm() -> str | None:
    """x264's ``asm`` value for this CPU without AVX-512; None where x264's own detection is already safe.

    None off Linux/x86 (no ``/proc/cpuinfo`` flags to intersect with: naming a set the CPU lacks would crash x264)
    and on CPUs without AVX-512.
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    flags = next((set(line.split(":", 1)[1].split()) for line in text.splitlines() if line.startswith("flags")),
                 set())
    if "avx512f" not in flags:
        return None
    return ",".join(name for flag, name in _X264_NAMES if flag in flags)


def deterministic_x264_options(encoder: str, options: dict[str, str]) -> dict[str, str]:
    """Encoder ``options``; for libx264, with ``asm`` added to ``x264-params`` (unless the caller set one)."""
    asm = x264_asm() if encoder == "libx264" else None
    params = options.get("x264-params", "")
    if asm is None or "asm=" in params:
        return options
    return {**options, "x264-params": f"{params}:asm={asm}" if params else f"asm={asm}"}
