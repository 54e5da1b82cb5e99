"""Real encoders in memory: decodable, the named encoder really runs, quality ordering, geometry, artefact measures."""

import io
import itertools

import av
import numpy as np
import pytest

from wildvsr.degrade.codec import CodecParams, compress_video, encode_clip, resolve_encoder
from wildvsr.degrade.jpeg import jpeg_roundtrip

# FFmpeg encoder -> the codec name the decoder reports for its bitstream
BITSTREAM = {"libx264": "h264", "libx265": "hevc", "mpeg4": "mpeg4", "mpeg2video": "mpeg2video"}


def _err(out, ref):
    return float(np.abs(out.astype(np.float64) - ref).mean())


@pytest.mark.parametrize("codec,kw", [
    ("libx264", {"bitrate": 20000}), ("h264", {"bitrate": 20000}), ("mpeg4", {"bitrate": 20000}),
    ("mpeg2video", {"bitrate": 4_000_000, "fps": 25}), ("libxvid", {"bitrate": 4_000_000, "fps": 20}),
    ("libx265", {"crf": 30, "preset": "fast", "fps": 20}),
])
def test_the_named_encoder_really_encodes(codec, kw, grainy_clip):
    p = CodecParams(codec, resolve_encoder(codec), **kw)
    data = encode_clip(list(grainy_clip[:6]), p)
    with av.open(io.BytesIO(data)) as c:
        stream = c.streams.video[0]
        assert stream.codec_context.name == BITSTREAM[p.encoder]
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert stream.average_rate == p.fps
    out = compress_video(list(grainy_clip[:6]), p)
    assert out.shape == grainy_clip[:6].shape and out.dtype == np.uint8
    if codec == "libxvid":  # FFmpeg builds without libxvid run (and record) FFmpeg's own MPEG-4 part 2 encoder
        assert p.encoder in ("libxvid", "mpeg4")


def test_resolve_encoder_records_aliases_and_fallbacks():
    assert resolve_encoder("h264") == "libx264"
    assert resolve_encoder("libx265") == "libx265"
    assert resolve_encoder("libxvid") in ("libxvid", "mpeg4")
    with pytest.raises(ValueError, match="no FFmpeg encoder"):
        resolve_encoder("not-a-codec")


@pytest.mark.parametrize("encoder,sweep", [
    ("libx264", [{"crf": c, "fps": 20} for c in (18, 28, 38, 48)]),
    ("libx265", [{"crf": c, "fps": 20} for c in (20, 30, 40, 50)]),
    ("libx264", [{"bitrate": b, "fps": 1} for b in (400_000, 100_000, 30_000, 10_000)]),
    ("mpeg4", [{"bitrate": b, "fps": 25} for b in (400_000, 150_000, 60_000, 20_000)]),
    ("mpeg2video", [{"bitrate": b, "fps": 25} for b in (600_000, 300_000, 150_000, 60_000)]),
])
def test_error_grows_as_rate_or_crf_worsens(encoder, sweep, grainy_clip):
    errors = [_err(compress_video(list(grainy_clip), CodecParams(encoder, encoder, **kw)), grainy_clip)
              for kw in sweep]
    print(encoder, sweep, [round(e, 2) for e in errors])
    assert all(a < b for a, b in itertools.pairwise(errors)), errors


def test_odd_sizes_differing_frame_sizes_and_width_ratio(grainy_clip):
    odd = [f[:45, :63] for f in grainy_clip[:5]]
    out = compress_video(odd, CodecParams("libx264", "libx264", crf=20, fps=10))
    assert out.shape == (5, 45, 63, 3) and _err(out, np.stack(odd)) < 8
    mixed = [grainy_clip[0][:64, :64], grainy_clip[1][:48, :80], grainy_clip[2][:64, :64]]  # stream size = frame 0
    assert compress_video(mixed, CodecParams("mpeg4", "mpeg4", bitrate=10**6, fps=25)).shape == (3, 64, 64, 3)
    for ratio in (0.8, 1.35):
        p = CodecParams("libx264", "libx264", crf=20, fps=16, width_ratio=ratio)
        with av.open(io.BytesIO(encode_clip(list(grainy_clip[:3]), p))) as c:
            assert c.streams.video[0].codec_context.width == 2 * round(128 * ratio / 2)
        assert compress_video(list(grainy_clip[:3]), p).shape == (3, 128, 128, 3)


def _luma(a):
    return a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114


def blockiness(frames: np.ndarray, period: int = 8) -> float:
    """Mean |luma step| across ``period``-grid boundaries / elsewhere (1 = no grid structure)."""
    y = _luma(frames.astype(np.float64))
    dx, dy = np.abs(np.diff(y, axis=-1)), np.abs(np.diff(y, axis=-2))
    cols, rows = np.arange(1, y.shape[-1]), np.arange(1, y.shape[-2])
    on = (dx[..., cols % period == 0].mean() + dy[..., rows % period == 0, :].mean()) / 2
    off = (dx[..., cols % period != 0].mean() + dy[..., rows % period != 0, :].mean()) / 2
    return float(on / off)


def temporal_error_correlation(out: np.ndarray, ref: np.ndarray) -> float:
    """Mean correlation of consecutive frames' luma errors (inter-frame prediction carries errors forward)."""
    e = _luma(out.astype(np.float64)) - _luma(ref.astype(np.float64))
    e = e - e.mean(axis=(1, 2), keepdims=True)
    return float(np.mean([np.corrcoef(e[i].ravel(), e[i + 1].ravel())[0, 1] for i in range(len(e) - 1)]))


def test_codec_artefacts_differ_from_jpeg(grainy_clip):
    ref = grainy_clip
    rows = {"input": (0.0, blockiness(ref), blockiness(ref, 16), 0.0)}
    outs = {f"jpeg q{q}": np.stack([jpeg_roundtrip(f, q) for f in ref]) for q in (50, 20, 10)}
    outs["mpeg2video 150k"] = compress_video(list(ref), CodecParams("mpeg2video", "mpeg2video", bitrate=150_000,
                                                                    fps=25))
    outs["mpeg4 80k"] = compress_video(list(ref), CodecParams("mpeg4", "mpeg4", bitrate=80_000, fps=20))
    outs["libx264 crf32"] = compress_video(list(ref), CodecParams("libx264", "libx264", crf=32, fps=20,
                                                                  preset="medium"))
    outs["libx265 crf37"] = compress_video(list(ref), CodecParams("libx265", "libx265", crf=37, fps=20,
                                                                  preset="medium"))
    for k, o in outs.items():
        rows[k] = (_err(o, ref), blockiness(o), blockiness(o, 16), temporal_error_correlation(o, ref))
    print("\nname              MAE   B8     B16    temporal-err-corr")
    for k, (e, b8, b16, tc) in rows.items():
        print(f"{k:<16} {e:5.2f}  {b8:.3f}  {b16:.3f}  {tc:.3f}")
    # MPEG-2/4 at low rates leave an 8x8 grid the input does not have
    assert rows["mpeg2video 150k"][1] > rows["input"][1] + 0.05
    assert rows["mpeg4 80k"][1] > rows["input"][1] + 0.05
    # H.264 (in-loop deblocking) leaves less grid than JPEG at a similar error ...
    assert rows["libx264 crf32"][1] < rows["jpeg q10"][1] - 0.2
    # ... but its errors persist across frames (inter prediction), which per-frame JPEG errors do not
    assert rows["libx264 crf32"][3] > rows["jpeg q10"][3] + 0.1
    assert rows["libx265 crf37"][3] > rows["jpeg q10"][3] + 0.1
