"""Metadata carried from reader to writer: display rotation, frame rate of image sequences."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from wildvsr.video import VideoReader, VideoWriter


def _rotated_clip(path, degrees: int):
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 48, 32, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        stream.set_display_rotation(degrees)
        for _ in range(3):
            img = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def test_rotation_carried_when_not_applied_and_dropped_when_applied(tmp_path):
    src = _rotated_clip(tmp_path / "rot.mp4", 270)
    carried, upright = tmp_path / "carried.mp4", tmp_path / "upright.mp4"
    for apply, out in ((False, carried), (True, upright)):
        with VideoReader(src, apply_rotation=apply) as reader, \
                VideoWriter(out, like=reader.info, preset="ultrafast") as writer:
            for frame in reader:
                writer.write(frame.image, frame.pts)
    with VideoReader(carried, apply_rotation=False) as reader:
        assert reader.info.rotation == 270 and (reader.info.width, reader.info.height) == (48, 32)
    with VideoReader(upright, apply_rotation=False) as reader:
        assert reader.info.rotation == 0 and (reader.info.width, reader.info.height) == (32, 48)


def test_image_sequence_to_video_uses_given_fps(tmp_path):
    from PIL import Image

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(4):
        Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(folder / f"{i:03d}.png")
    out = tmp_path / "o.mkv"
    with VideoReader(folder) as reader, VideoWriter(out, like=reader.info, fps=Fraction(30000, 1001),
                                                     preset="ultrafast") as writer:
        assert reader.info.fps is None and reader.info.is_image_sequence
        for frame in reader:
            writer.write(frame.image)  # no pts: the writer counts frames at 1/fps
    with VideoReader(out) as reader:
        times = [f.time for f in reader]
        assert abs(float(reader.info.fps) - 30000 / 1001) < 0.01
    assert np.allclose(np.diff(times), 1001 / 30000, atol=1e-3)
