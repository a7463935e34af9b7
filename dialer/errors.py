"""Errors the CLI turns into a one-line message and a non-zero exit code."""


class DialerError(Exception):
    """A failure the user can act on; its message is shown as is, without a traceback."""

    exit_code = 1


class ConfigError(DialerError):
    """The settings file or an environment variable is wrong."""

    exit_code = 2


class InputError(DialerError):
    """A file or argument given by the user cannot be used."""

    exit_code = 2
