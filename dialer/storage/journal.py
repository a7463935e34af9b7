"""The write journal: database writes the daemon could not make before it stopped, kept on disk
in the data directory and replayed, in order, at the next start (:meth:`Writer.open_journal
<dialer.storage.writer.Writer.open_journal>`).

One file, rewritten whole and atomically (a temporary file, fsync, rename): a format line, then
the pending write commands (:mod:`dialer.session.commands`, frozen dataclasses) pickled as one
list.  Reading accepts only the classes such commands are made of (the session's commands, the
campaign definitions and rule results they carry, dates, enums): the file lives beside the
database in the data directory, and even so a hand-edited or foreign file cannot make it run
code.
"""

from __future__ import annotations

import builtins
import io
import os
import pickle
from pathlib import Path
from typing import Any

from dialer.errors import DialerError

#: The journal's first line; another format (an older or newer daemon's) is refused, not guessed.
FORMAT = b"dialer-write-journal 1\n"
#: The file's name in the data directory.
FILENAME = "writes.journal"

_BUILTINS = frozenset({"bool", "bytes", "dict", "float", "frozenset", "int", "list", "set", "str", "tuple"})
_MODULES = frozenset({"datetime", "decimal", "zoneinfo", "zoneinfo._zoneinfo", "collections", "uuid"})
#: Where the classes of write commands live (classes only: no function is ever called).
_CLASS_MODULES = ("dialer.session.commands", "dialer.vocabulary", "dialer.claim", "campaigns.")


class JournalError(DialerError):
    """The journal file cannot be read (another format, damaged, or a class it may not hold)."""


class _CommandUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins" and name in _BUILTINS:
            return getattr(builtins, name)
        if module in _MODULES or module.startswith(_CLASS_MODULES):
            found = super().find_class(module, name)
            if isinstance(found, type) or module in _MODULES:
                return found
        raise JournalError(f"write journal holds {module}.{name}, which is not part of a write command")


class Journal:
    """The pending writes at ``path``: :meth:`save` replaces them, :meth:`load` reads them,
    :meth:`clear` removes the file once they are in the database."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def exists(self) -> bool:
        return self.path.exists()

    def save(self, writes: list[Any]) -> None:
        """Replace the journal with ``writes`` (none: remove it), durably."""
        if not writes:
            self.clear()
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(FORMAT)
            pickle.dump(list(writes), fh, protocol=pickle.HIGHEST_PROTOCOL)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self._sync_dir()

    def load(self) -> list[Any]:
        """The writes kept in the journal, oldest first ([] when there is no journal)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        if not data.startswith(FORMAT):
            raise JournalError(f"{self.path} is not a write journal of this version (first line "
                               f"{data[:40].splitlines()[0] if data else b''!r})")
        try:
            writes = _CommandUnpickler(io.BytesIO(data[len(FORMAT):])).load()
        except JournalError:
            raise
        except Exception as exc:
            raise JournalError(f"{self.path} is damaged: {exc}") from None
        if not isinstance(writes, list):
            raise JournalError(f"{self.path} is damaged: not a list of writes")
        return writes

    def clear(self) -> None:
        if self.path.exists():
            self.path.unlink()
            self._sync_dir()

    def _sync_dir(self) -> None:
        fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
