"""Errors a user can act on, each carrying the exit code the CLI returns for it.

Exit codes: 1 = the work failed or the data has errors; 2 = the command line or
config is wrong.  Messages name the file, key or value and what to do.
"""


class SigntrainError(Exception):
    """Base of every error that the CLI reports as one or two lines, without a traceback."""

    exit_code = 1


class ConfigError(SigntrainError):
    """The config file, a --set override or a command-line value is wrong."""

    exit_code = 2


class DataError(SigntrainError):
    """The data cannot be used as asked (missing folder, incompatible layout, ...)."""

    exit_code = 1


class ModelError(SigntrainError):
    """A model file or its metadata is missing, corrupt or incompatible."""

    exit_code = 1


class RunError(SigntrainError):
    """The output folder cannot take a run (locked by another training, not writable, full)."""

    exit_code = 1


class TrainingDiverged(SigntrainError):
    """The loss became NaN or infinite; nothing was committed."""

    exit_code = 1


class Interrupted(SigntrainError):
    """Stopped on Ctrl-C before anything worth keeping existed; nothing was written."""

    exit_code = 130
