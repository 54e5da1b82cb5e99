"""libx264 options that keep encoding deterministic on AVX-512 CPUs (wildvsr.video.x264)."""

from __future__ import annotations

from wildvsr.video import x264


def test_asm_list_never_names_avx512_and_is_added_to_x264_params(monkeypatch):
    monkeypatch.setattr(x264, "x264_asm", lambda: "MMX2,SSE,SSE2,AVX2")
    opts = x264.deterministic_x264_options
    assert opts("libx264", {"crf": "20"}) == {"crf": "20", "x264-params": "asm=MMX2,SSE,SSE2,AVX2"}
    assert opts("libx264", {"x264-params": "keyint=8"})["x264-params"] == "keyint=8:asm=MMX2,SSE,SSE2,AVX2"
    assert opts("libx264", {"x264-params": "asm=0"}) == {"x264-params": "asm=0"}  # the user's choice
    assert opts("libx265", {"crf": "20"}) == {"crf": "20"}  # other encoders untouched


def test_this_cpu_list():
    x264.x264_asm.cache_clear()
    asm = x264.x264_asm()
    assert asm is None or ("AVX512" not in asm and asm.startswith("MMX2"))


def test_no_change_where_x264_detection_is_safe(monkeypatch):
    monkeypatch.setattr(x264, "x264_asm", lambda: None)
    assert x264.deterministic_x264_options("libx264", {"preset": "slow"}) == {"preset": "slow"}
