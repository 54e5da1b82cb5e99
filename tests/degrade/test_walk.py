"""Random-walk semantics (SPEC 3.2): steps bounded by the configured step, values clipped to and covering the range."""

import dataclasses

import numpy as np
import pytest

from wildvsr.degrade import load_preset
from wildvsr.degrade.params import _Draw, sample_params


def _walked(params):
    """(name, values per frame, step, range) for every continuous walked parameter of clip 0."""
    cfg = load_preset("realbasicvsr")
    clip = params.clips[0]
    out = []
    for sc, sp in zip(cfg.stages, clip.stages):
        b, bc = sp.blur, sc.blur
        out += [("sigma_x", b.sigma_x, bc.sigma_x_step, bc.sigma_x), ("omega", b.omega, bc.omega_step, None)]
        if b.kernel_type[0] not in ("iso", "generalized_iso", "plateau_iso"):  # isotropic: sigma_y = sigma_x, 0
            out.append(("sigma_y", b.sigma_y, bc.sigma_y_step, bc.sigma_y))
            out.append(("rotation", b.rotation, bc.rotation_step, bc.rotation))
        out.append(("scale", sp.resize.scale, sc.resize.scale_step, sc.resize.scale))
        nc = sc.noise
        step, rng_ = ((nc.gaussian_sigma_step, nc.gaussian_sigma) if sp.noise.kind[0] == "gaussian"
                      else (nc.poisson_scale_step, nc.poisson_scale))
        out.append(("noise", sp.noise.level, step, rng_))
        out.append(("quality", sp.jpeg.quality, sc.jpeg.quality_step + 1, sc.jpeg.quality))  # +1: rounding
    return out


@pytest.mark.parametrize("seed", range(5))
def test_consecutive_frames_differ_by_at_most_one_step(seed):
    cfg = load_preset("realbasicvsr")
    params = sample_params(cfg, 1, 60, np.random.default_rng(seed))
    for name, values, step, rng_ in _walked(params):
        v = np.asarray(values, np.float64)
        assert np.all(np.abs(np.diff(v)) <= step + 1e-9), name
        if rng_ is not None:
            assert v.min() >= rng_[0] - 1e-9 and v.max() <= rng_[1] + 1e-9, name
        assert np.any(np.diff(v) != 0), f"{name} never moved"
    # categorical choices are per clip
    clip = params.clips[0]
    for sp in clip.stages:
        assert len(set(sp.blur.kernel_type)) == 1 and len(set(sp.blur.kernel_size)) == 1
        assert len(set(sp.resize.interpolation)) == 1 and len(set(sp.noise.kind)) == 1


@pytest.mark.parametrize("lo,hi,step", [(30, 95, 3), (0.15, 1.5, 0.015), (0.2, 3.0, 0.02), (1, 30, 0.1),
                                        (-3.1416, 3.1416, 0.31416)])
def test_long_walk_covers_the_range(lo, hi, step):
    # a walk with uniform steps needs about ((hi - lo) / step)^2 frames to cross its range
    n = int(min(3_000_000, 8 * ((hi - lo) / step) ** 2))
    d = _Draw(np.random.default_rng(0), "walk", n)
    v = np.asarray(d.uniform(lo, hi, step))
    assert np.abs(np.diff(v)).max() <= step + 1e-12
    span = hi - lo
    assert v.min() < lo + 0.05 * span and v.max() > hi - 0.05 * span, (v.min(), v.max(), n)


def test_clip_and_frame_modes():
    cfg = load_preset("vcisr")
    p = sample_params(cfg, 2, 12, np.random.default_rng(0))
    for clip in p.clips:  # clip mode: constant over frames
        assert len(set(clip.stages[0].blur.sigma_x)) == 1 and len(set(clip.stages[1].noise.level)) == 1
    cfg = load_preset("realesrgan")
    p = sample_params(cfg, 1, 12, np.random.default_rng(0))
    assert len(set(p.clips[0].stages[0].blur.sigma_x)) == 12  # frame mode: independent


def test_vcisr_codec_draws_follow_spec():
    cfg = load_preset("vcisr")
    rng = np.random.default_rng(1)
    codecs = []
    for _ in range(400):
        c = sample_params(cfg, 1, 2, rng).clips[0].final
        if c.alt:
            assert c.codec is None and c.jpeg is not None
            continue
        k = c.codec
        codecs.append(k.codec)
        if k.codec == "libx264":
            assert 20 <= k.crf <= 32 and k.bitrate is None and k.preset in cfg.final.codec.presets
        elif k.codec == "libx265":
            assert 25 <= k.crf <= 37
        else:
            assert 3_800_000 <= k.bitrate <= 5_800_000 and k.crf is None
        if k.codec == "mpeg2video":
            assert k.fps == 25 and k.width_ratio >= 1.0
        else:
            assert 16 <= k.fps <= 30 and 0.8 <= k.width_ratio <= 1.35
    share = {c: codecs.count(c) / len(codecs) for c in set(codecs)}
    assert abs(share["libx264"] - 0.4) < 0.08 and abs(share["mpeg2video"] - 0.2) < 0.07, share
    assert 0.0 < 1 - len(codecs) / 400 < 0.12  # the 5 % Real-ESRGAN final


def test_params_json_roundtrip_concat_and_frame_slices():
    import json
    cfg = load_preset("realbasicvsr")
    a = sample_params(cfg, 1, 10, np.random.default_rng(0))
    b = sample_params(cfg, 2, 10, np.random.default_rng(1))
    d = json.loads(json.dumps(a.to_dict()))
    assert d["num_frames"] == 10 and len(d["clips"][0]["stages"][0]["blur"]["sigma_x"]) == 10
    both = type(a).concat([a, b])
    assert len(both) == 3 and both.clips[1] is b.clips[0]
    part = a.frames(3, 7)
    assert part.num_frames == 4 and part.clips[0].stages[0].jpeg.quality == a.clips[0].stages[0].jpeg.quality[3:7]
    assert part.clips[0].final.codec == a.clips[0].final.codec
    with pytest.raises(ValueError):
        type(a).concat([a, sample_params(cfg, 1, 5, np.random.default_rng(0))])
    assert dataclasses.is_dataclass(a)
