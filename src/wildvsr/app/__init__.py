"""``wildvsr app``: a Gradio web page to upscale, degrade and evaluate in the browser (extra ``.[app]``).

The page only calls the library functions the CLI calls (:func:`wildvsr.inference.upscale_video`,
:func:`wildvsr.degrade.video.degrade_video`, :func:`wildvsr.evaluate.evaluate`); ``wildvsr.app.jobs`` holds the
upload checks and session files, ``wildvsr.app.ui`` the page. Gradio is imported only by :func:`serve`.
"""

from wildvsr.app.settings import DEFAULT_HOST, DEFAULT_PORT, AppSettings


def serve(settings: AppSettings | None = None, *, block: bool = True):
    """Start the app (bound to ``settings.host``, 127.0.0.1 by default; never a public share link)."""
    from wildvsr.app.ui import serve as _serve

    return _serve(settings or AppSettings(), block=block)


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "AppSettings", "serve"]
