"""Every output format of `scan`, by name: the `--format` choices and the `-o` extension mapping
come from here (the way `checks.registry` lists the checks).

A new format is one module with a `Renderer` (see `report.interface`) and one line below.
"""

from __future__ import annotations

from tokenaudit.report.delimited import CsvFormat, TsvFormat
from tokenaudit.report.html import HtmlFormat
from tokenaudit.report.interface import Renderer
from tokenaudit.report.jsonout import JsonFormat, NdjsonFormat
from tokenaudit.report.markdown import MarkdownFormat
from tokenaudit.report.table import TableFormat

#: Name → renderer, in the order `--format` lists them.
RENDERERS: dict[str, Renderer] = {
    r.name: r
    for r in (
        TableFormat(),
        CsvFormat(),
        TsvFormat(),
        JsonFormat(),
        NdjsonFormat(),
        MarkdownFormat(),
        HtmlFormat(),
    )
}
#: `--format auto` without a terminal, or for an `-o` extension no format claims.
DEFAULT = "csv"
#: `--format auto` on a terminal.
TERMINAL = "table"


def register(renderer: Renderer) -> None:
    """Add a format (a plug-in, a test's toy format); its name must be new."""
    if renderer.name in RENDERERS or renderer.name == "auto":
        raise ValueError(f"an output format named {renderer.name!r} exists already")
    RENDERERS[renderer.name] = renderer


def unregister(name: str) -> None:
    del RENDERERS[name]


def names() -> tuple[str, ...]:
    return tuple(RENDERERS)


def get(name: str) -> Renderer:
    return RENDERERS[name]


def for_extension(suffix: str) -> Renderer | None:
    """The format an `-o` file with this extension gets under `--format auto`, if any claims it."""
    suffix = suffix.lower()
    for renderer in RENDERERS.values():
        if suffix in renderer.extensions:
            return renderer
    return None
