"""What ``wildvsr upscale`` does to a 10-bit HLG (HDR) clip: output depth, colour tags and the code-value range.

Builds a phone-style HDR clip here (HEVC Main 10, ``yuv420p10le``, BT.2020 matrix and primaries, HLG transfer): a
horizontal ramp over the whole HLG signal range (10-bit limited-range codes 64-940 in luma), a peak-white box, a
saturated BT.2020 red disk and a near-black box, moving one pixel per frame. It runs the CLI as a user would and
prints, for input and output, the pixel format, the tags and the min/max stored code of each plane (Y, Cb, Cr) plus
the number of distinct luma codes. No tone mapping is done anywhere: the model sees the HLG code values as if they
were SDR ones. ``--picture`` saves frame 0 side by side (input repeated x4 | output), both shown as their code values
on an 8-bit screen (what an SDR viewer shows).

Run: ``python benchmarks/hlg_code_values.py [--model srvgg.animevideov3] [--picture docs/hlg_code_values.png]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorRange, Colorspace

HLG_TAGS = {"colorspace": 9, "color_primaries": 9, "color_trc": 18, "color_range": 1}  # BT.2020 nc, HLG, limited


def hlg_frames(num_frames: int, height: int, width: int) -> np.ndarray:
    """``(T, H, W, 3)`` float RGB signal values in [0, 1] (HLG-encoded, non-linear)."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    frames = np.empty((num_frames, height, width, 3))
    for t in range(num_frames):
        img = np.repeat((xx / (width - 1))[..., None], 3, -1)  # grey ramp 0 .. 1 (HLG black to peak)
        img[4:20, 4 + t:20 + t] = 1.0  # peak white
        disk = (yy - height * 0.65) ** 2 + (xx - width * 0.3 - t) ** 2 < (height / 6) ** 2
        img[disk] = (0.9, 0.05, 0.05)  # saturated red
        img[height - 14:height - 4, width - 24 + t % 4:width - 8] = 0.02  # near black
        frames[t] = img
    return frames


def write_hlg_clip(path: Path, frames: np.ndarray) -> Path:
    """x265 ``yuv420p10le`` with BT.2020/HLG tags, converted with the BT.2020 matrix (limited range)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx265", rate=25)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p10le"
        stream.options = {"crf": "12", "x265-params": "log-level=error"}
        for name, value in HLG_TAGS.items():
            setattr(stream.codec_context, name, value)
        for t, img in enumerate(frames):
            rgb = np.round(img * 65535).astype(np.uint16)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb48le").reformat(
                format="yuv420p10le", dst_colorspace=Colorspace.BT2020, dst_color_range=ColorRange.MPEG)
            for name, value in HLG_TAGS.items():
                setattr(frame, name, value)
            frame.pts = t
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


def plane_stats(path: Path) -> dict:
    """Pixel format, tags, per-plane (min, max) stored codes over all frames, and distinct luma codes."""
    lo, hi, luma = [np.inf] * 3, [-np.inf] * 3, set()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            deep = frame.format.components[0].bits > 8
            for i, plane in enumerate(frame.planes[:3]):
                dtype = np.uint16 if deep else np.uint8
                data = np.frombuffer(bytes(plane), dtype).reshape(plane.height, -1)[:, :plane.width]
                lo[i], hi[i] = min(lo[i], int(data.min())), max(hi[i], int(data.max()))
                if i == 0:
                    luma.update(np.unique(data).tolist())
            tags = (frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range)
        return {"pix_fmt": stream.codec_context.pix_fmt, "tags (spc, pri, trc, range)": tags,
                "Y": (lo[0], hi[0]), "Cb": (lo[1], hi[1]), "Cr": (lo[2], hi[2]), "distinct Y codes": len(luma)}


def save_picture(src: Path, out: Path, picture: Path) -> None:
    """Frame 0: input (pixels repeated x4) | output, RGB decoded with the stream's matrix, shown as 8-bit codes."""
    from PIL import Image

    from wildvsr.video import VideoReader

    def first(path: Path) -> np.ndarray:
        with VideoReader(path) as reader:
            return next(iter(reader)).image

    low, high = first(src), first(out)
    low = low.repeat(high.shape[0] // low.shape[0], 0).repeat(high.shape[1] // low.shape[1], 1)
    Image.fromarray(np.concatenate([low, high], 1)).save(picture, optimize=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="srvgg.animevideov3")
    parser.add_argument("--size", default="96x64", help="WxH of the HLG clip")
    parser.add_argument("--frames", type=int, default=4)
    parser.add_argument("--picture", type=Path, default=None, help="save frame 0, input | output, as a PNG")
    args = parser.parse_args()
    width, height = map(int, args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        src = write_hlg_clip(Path(tmp) / "hlg.mkv", hlg_frames(args.frames, height, width))
        out = Path(tmp) / "hlg_x4.mp4"
        cmd = [sys.executable, "-m", "wildvsr", "upscale", str(src), str(out), "--model", args.model, "--device",
               "cpu", "--precision", "fp32", "--quiet"]
        subprocess.run(cmd, check=True)
        print("command: wildvsr " + " ".join(cmd[3:]))
        for name, path in (("input ", src), ("output", out)):
            print(name, plane_stats(path))
        if args.picture is not None:
            save_picture(src, out, args.picture)
            print("picture:", args.picture)


if __name__ == "__main__":
    main()
