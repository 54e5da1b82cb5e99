"""Video I/O on PyAV (FFmpeg in-process): streaming reader, atomic writer, metadata.

``VideoReader`` reads a video file, a folder of images or one image as RGB frames; ``VideoWriter`` encodes RGB frames
to a video (keeping timestamps, colour tags, audio and subtitles) or to a PNG frame folder, atomically;
``join_segments`` joins segment files encoded separately into one video without re-encoding.
"""

from wildvsr.video.info import (IMAGE_EXTENSIONS, MAX_PIXELS, VIDEO_EXTENSIONS, AudioStreamInfo, Frame,
                                SubtitleStreamInfo, VideoInfo, is_image_path, is_video_path)
from wildvsr.video.join import join_segments
from wildvsr.video.reader import VideoReader, read_info
from wildvsr.video.writer import CODEC_DEFAULTS, CONTAINERS, VideoWriter

__all__ = ["CODEC_DEFAULTS", "CONTAINERS", "IMAGE_EXTENSIONS", "MAX_PIXELS", "VIDEO_EXTENSIONS", "AudioStreamInfo",
           "Frame", "SubtitleStreamInfo", "VideoInfo", "VideoReader", "VideoWriter", "is_image_path", "is_video_path",
           "join_segments", "read_info"]
