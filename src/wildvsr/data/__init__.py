"""Training data: clean clips -> random L-frame GT sequences (crop, flips, transpose, temporal mirror).

See :class:`VideoSequenceDataset` (sample = pure function of ``(seed, sample_id)``) and :class:`ShardedSampleSampler`
(resumable, rank-sharded sample ids).
"""

from wildvsr.data.clips import ClipInfo, FrameSource, build_clip_index, find_clip_paths, probe_clip
from wildvsr.data.dataset import (SequenceSpec, ShardedSampleSampler, VideoSequenceDataset, augment, collate,
                                  mirror_in_time)

__all__ = ["ClipInfo", "FrameSource", "build_clip_index", "find_clip_paths", "probe_clip", "SequenceSpec",
           "ShardedSampleSampler", "VideoSequenceDataset", "augment", "collate", "mirror_in_time"]
