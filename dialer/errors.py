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


class NoDatabase(DialerError):
    """A command that only reads found no database (it never creates one)."""


# Typed failures of requests (engine, storage, API): the HTTP API maps each class to one status
# code with a Starlette exception handler; the CLI shows the message.


class NotFound(DialerError):
    """The agent, call, campaign or lead named does not exist (HTTP 404)."""


class Forbidden(DialerError):
    """The caller may not act on this (another agent's call: HTTP 403)."""


class Conflict(DialerError):
    """The request cannot be done in the current state: not logged in, already disposed,
    the call must be disposed first, the campaign is not running (HTTP 409)."""


class Invalid(DialerError):
    """The request is well formed but its values are not acceptable (HTTP 422)."""

    exit_code = 2


class Unavailable(DialerError):
    """The database cannot be reached now (down, restarting, locked by another writer); the
    request may be repeated later (HTTP 503)."""


class PbxError(DialerError):
    """The PBX refused or did not answer an action on the caller's behalf (HTTP 502); the
    message carries the PBX's reason."""
