"""The small files that options name (`--config`, `--suppressions`, `--baseline`,
`--reference`, `--prices`, `--pseudonymize`, `verify REPORT`): regular files of bounded size,
read whole.

NOTE: read whole without a check, `--pseudonymize /dev/zero` took 4.8 GB of memory in 7 s and a
settings file on a FIFO waited for ever; the inputs have had these checks all along."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Final

from tokenaudit.errors import DataError, InputMissingError

#: Larger than any of these files needs to be: a JSON report (`--baseline`, `verify`) of
#: 20,000 accounts with every check's evidence is about 100 MB.
MAX_SIDE_FILE_BYTES: Final = 512 << 20


def read_side_file(path: Path, what: str, limit: int = MAX_SIDE_FILE_BYTES) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes: otherwise
    `InputMissingError` (66) for a device, directory or FIFO, `DataError` (65) when larger.
    `OSError` (a missing or unreadable file) is the caller's to word."""
    mode = path.stat().st_mode
    if not stat.S_ISREG(mode):
        raise InputMissingError(str(path), f"{what} is not a regular file")
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise DataError(str(path), f"{what} is larger than {limit:,} bytes")
    return data
