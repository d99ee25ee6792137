"""Files that hold people's data (the database, backups, exports, invitation lists whose links register a person):
created readable and writable by their owner alone (0600) whatever the umask, and written whole or not at all.

A file is written under a temporary name beside its own and renamed into place once complete, so a full disk or a
crash leaves no partial file that a reader could take for the real one (a half-written backup opens as an empty
database).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE = 0o600


class OutputError(Exception):
    """A file could not be written; the message says which and why in one line. Nothing was left behind."""


def create_private(path: Path) -> None:
    """Creates `path` empty with mode 0600 unless it exists (an existing file keeps its mode)."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE)
    except FileExistsError:
        return
    try:
        os.fchmod(descriptor, PRIVATE)  # the umask may have taken bits off, never added any; this says it exactly
    finally:
        os.close(descriptor)


@contextmanager
def private_output(path: Path) -> Iterator[Path]:
    """A new empty 0600 file beside `path` to write to; it becomes `path` when the block ends, and is removed when
    the block fails. OSError (full disk, no permission) becomes OutputError with one line."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        partial.unlink(missing_ok=True)
        create_private(partial)
        yield partial
        partial.replace(path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_private(path: Path, data: bytes) -> None:
    """Writes `data` to `path` (0600), whole or not at all."""
    with private_output(path) as partial:
        partial.write_bytes(data)
