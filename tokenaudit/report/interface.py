"""The one interface every output format of `scan` implements.

A format is a `Renderer`: it declares its `name` (the `--format` value), the file `extensions`
that choose it for `--output FILE` under `--format auto`, and `render(report, ctx) -> str`. It
only renders: it never prints, exits or decides. `report.registry` lists the formats; `cli.py`
takes the `--format` choices and the extension mapping from there, and the golden tests run
every registered format.

Renderer modules are imported whenever the CLI is built (even for `--help`), so they import
Polars, Rich and the schema inside `render`, never at the top (a test keeps `--help` free of
them).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import polars as pl

    from tokenaudit.config import AuditConfig
    from tokenaudit.model import AuditReport


@dataclass(frozen=True)
class RenderContext:
    """What a renderer may need beside the report."""

    cfg: AuditConfig
    #: The accounts to show, ranked (`--top`, `--all` and the format's `default_rows` applied).
    shown: pl.DataFrame
    #: Ranked accounts left out of `shown`.
    hidden: int = 0
    #: Whether the output is stdout's terminal: a human layout then fits its width and has its
    #: colours; anywhere else it is whole and plain, the same bytes whatever the terminal.
    terminal: bool = False
    #: `--csv-raw`: leave spreadsheet formula triggers as they are.
    csv_raw: bool = False
    #: More of the run for the JSON `run` object (the suppressions and baseline used, the run
    #: manifest with `--manifest`), by key, in order.
    run_extra: dict[str, Any] = field(default_factory=dict)


class Renderer(ABC):
    """An output format of `scan` (see the module docstring)."""

    #: The `--format` value.
    name: ClassVar[str]
    #: File extensions (lower case, with the dot) that pick this format for `-o FILE`; the first
    #: is also the extension of its golden files.
    extensions: ClassVar[tuple[str, ...]] = ()
    #: Accounts shown when neither `--top` nor `--all` is given (None: every account).
    default_rows: ClassVar[int | None] = None
    #: Whether a run for this format works out each input's SHA-256 while the audit runs
    #: (`run_audit`'s `digests`): the JSON formats, whose run metadata is where it is shown.
    #: Others have it worked out only if something asks (a manifest, a baseline).
    hashes_inputs: ClassVar[bool] = False

    @abstractmethod
    def render(self, report: AuditReport, ctx: RenderContext) -> str:
        """The whole output as text (UTF-8 when written)."""
