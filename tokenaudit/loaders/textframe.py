"""Text columns from decoded JSON values, which may hold what no text can.

JSON can escape half of a UTF-16 surrogate pair (`"\\ud800"`), and Python's decoder gives it
back as a lone surrogate: no UTF-8 holds one, so Polars cannot take the string and a run ended
on one bad value (exit 70). Real logs have them where a tool cut a string between the two
halves of an emoji. Such a value becomes U+FFFD in its column, and the column is named
`lossy`, so that `canonical` rejects the rows whose value it is, with the reason, as it rejects
a CSV's invalid UTF-8; a value the audit never reads (a message's text) costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

import polars as pl

_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def text_frame(
    data: Mapping[str, list[Any]], schema: Mapping[str, Any]
) -> tuple[pl.DataFrame, frozenset[str]]:
    """`pl.DataFrame(data, schema=schema)`, and the columns whose lone surrogates became
    U+FFFD (empty, and no string looked at, when there are none)."""
    try:
        return pl.DataFrame(dict(data), schema=dict(schema)), frozenset()
    except UnicodeEncodeError:
        pass
    cleaned: dict[str, list[Any]] = {}
    lossy: set[str] = set()
    for name, values in data.items():
        if schema.get(name) != pl.String:
            cleaned[name] = values
            continue
        fixed = [_LONE_SURROGATE.sub("\ufffd", v) if isinstance(v, str) else v for v in values]
        if fixed != values:
            lossy.add(name)
        cleaned[name] = fixed
    return pl.DataFrame(cleaned, schema=dict(schema)), frozenset(lossy)
