"""The one Typer app and its error handling.

Command modules (``wildvsr.cli.<job>``) register commands on :data:`app`; ``wildvsr.cli`` imports them by an
explicit list. Commands build a config and call one library function; nothing below ``cli`` sees Typer. Command
bodies import the library inside the function on purpose: ``wildvsr --help`` and argument errors start without
importing torch, av or gradio (the only lazy package imports outside heavy optional dependencies).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import traceback

import typer

try:  # typer >= 0.20 vendors click as typer._click and raises its own exception classes
    from typer._click.exceptions import ClickException as _ClickException
    from typer.exceptions import Abort as _Abort, Exit as _Exit
except ImportError:  # older typer re-uses the standalone click package
    from click.exceptions import Abort as _Abort, ClickException as _ClickException, Exit as _Exit

from wildvsr import __version__
from wildvsr.errors import VSRError

app = typer.Typer(
    name="wildvsr",
    help="Real-world video super-resolution: upscale, degrade, train and evaluate.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wildvsr {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,  # noqa: ARG001 (handled by
                                 help="Print the version."),                          # its eager callback)
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks and debug logs."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show info-level logs."),
) -> None:
    """Real-world video super-resolution (x4)."""
    _state["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def fail(message: str) -> None:
    """Print one error line on stderr (used for errors detected in the CLI layer itself)."""
    typer.echo(f"error: {message}", err=True)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwinds like KeyboardInterrupt (``finally``/``except BaseException`` clean up: the
    temporary output is removed, an upscale work folder is kept for ``--resume``), but is not KeyboardInterrupt, which
    typer turns into a silent exit 130 whatever the signal was."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum
        self.exit_code = 128 + signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
        self.message = "terminated" if signum == signal.SIGTERM else "interrupted"


def _raise_interrupted(signum: int, _frame) -> None:
    raise Interrupted(signum)


def _handle_signals() -> dict:
    """Route SIGINT/SIGTERM to :class:`Interrupted`; returns the previous handlers (restored when ``main`` ends, so
    an in-process caller such as a test runner keeps its own)."""
    previous = {}
    if threading.current_thread() is not threading.main_thread():
        return previous  # signal handlers can only be set from the main thread
    for signum in (signal.SIGINT, signal.SIGTERM):
        handler = signal.getsignal(signum)
        if handler is not signal.SIG_IGN:  # keep "ignore" (e.g. nohup, background jobs)
            previous[signum] = handler
            signal.signal(signum, _raise_interrupted)
    return previous


def main(argv: list[str] | None = None) -> None:
    """Console entry point: run the app, map errors to one line and an exit code.

    Exit codes: 0 success; 2 bad input or usage (a :class:`VSRError`, or a click usage error); 130 interrupted
    (SIGINT), 143 terminated (SIGTERM); 1 an unexpected internal error (with a hint to re-run with ``--debug``).
    """
    args = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in args
    command = typer.main.get_command(app)
    previous = _handle_signals()
    try:
        code = command.main(args=args, prog_name="wildvsr", standalone_mode=False)
    except _Exit as exc:
        code = exc.exit_code
    except _ClickException as exc:  # usage errors: bad option, missing argument
        exc.show()
        code = 2
    except Interrupted as exc:
        typer.echo(exc.message, err=True)
        code = exc.exit_code
    except (_Abort, KeyboardInterrupt):
        typer.echo("interrupted", err=True)
        code = 130
    except VSRError as exc:
        if debug:
            traceback.print_exc()
        fail(str(exc))
        code = exc.exit_code
    except Exception as exc:  # an internal error: still one line unless --debug
        if debug:
            traceback.print_exc()
        fail(f"{type(exc).__name__}: {exc} (internal error; re-run with --debug for the traceback)")
        code = 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    sys.exit(code or 0)
