"""Test helpers of wildvsr, one module per concern (``tests/`` is on pytest's ``pythonpath``, so tests import them as
``from helpers.media import write_clip``). Helpers, not fixtures: fixtures stay in the ``conftest.py`` files, which
import what they need from here.

* :mod:`helpers.shared_data`: ``../shared/data`` (real clips, Vid4, calibration images), skipping when absent.
* :mod:`helpers.media`: synthetic frames, clips written with PyAV directly (8-bit and tagged 10-bit), frame folders,
  reading every frame of a video back.
* :mod:`helpers.video_reference`: reference clips and decodes for the video tests, with PyAV alone (YUV matrices,
  variable frame rate, audio spans).
* :mod:`helpers.frames`: comparing frames (``assert_frames_close``, ``psnr``).
* :mod:`helpers.models`: tiny models (a registered architecture in a tiny size, ``TinyBiRecurrent``) and their
  weights.
* :mod:`helpers.cli`: ``python -m wildvsr ...`` in a subprocess with the tests' environment (optionally with the
  ``tiny`` model registered, :mod:`helpers.tiny_cli`), and reading what a run left.
* :mod:`helpers.interrupts`: interrupting a run after its first chunks (in process, or a signal to a subprocess).
* :mod:`helpers.bad_inputs`: damaged and refused inputs of issue 2, each with the one error line it must give.
* :mod:`helpers.fakecuda`: CUDA faked on the CPU for the fake-CUDA lane (``tests/cuda_fake``).
* :mod:`helpers.app`, :mod:`helpers.negvsr`, :mod:`helpers.train`: what one folder's tests share.
"""
