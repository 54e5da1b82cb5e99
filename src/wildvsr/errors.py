"""The exception types a user sees.

Each also inherits the matching builtin so callers can catch either. Messages say what was wrong and what to do,
in one line. The CLI turns any :class:`VSRError` into that line on stderr and exit code 2.
"""


class VSRError(Exception):
    """Base class: an error the user can fix (bad input, missing file, bad option)."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError's repr-quoting would otherwise wrap the message in quotes
        return str(self.args[0]) if self.args else self.__class__.__name__


class InputError(VSRError, ValueError):
    """An argument or input file is invalid."""


class VideoIOError(VSRError, OSError):
    """A video or image could not be read or written."""


class OutputExistsError(VSRError, FileExistsError):
    """The output exists (and ``overwrite`` was not given) or would replace the input."""


class UnknownModelError(VSRError, KeyError):
    """A model, metric, preset or other registry name is not known."""


class WeightsNotFoundError(VSRError, FileNotFoundError):
    """A weights file is not available offline."""


class WeightsMismatchError(VSRError, ValueError):
    """A weights file does not fit the architecture it was loaded into."""


class ConfigError(VSRError, ValueError):
    """A config file or ``--set`` override has a bad key or value (the message names the key)."""


class DeviceError(VSRError, RuntimeError):
    """The requested device is unavailable or ran out of memory."""


class MissingDependencyError(VSRError, ImportError):
    """An optional dependency is not installed (the message gives the install command)."""
