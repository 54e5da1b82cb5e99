"""wildvsr: real-world video super-resolution (x4) — upscale, degrade, train, evaluate.

Conventions, stated once for the whole package:

* Model tensors are float ``(B, T, C, H, W)``, RGB, range [0, 1].
* Frames at I/O boundaries are ``uint8`` (or ``uint16`` for >8-bit sources) ``(H, W, 3)`` numpy arrays, RGB.
* Models upscale x4; other output scales are a resize done by the runner.
* Every random function takes an explicit ``torch.Generator`` or ``numpy.random.Generator``.
* Errors a user can fix are :class:`wildvsr.errors.VSRError` subclasses; the CLI prints them as one line, exit code 2.
"""

__version__ = "0.1.0"
