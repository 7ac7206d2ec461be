"""Make untrusted text inert: control, bidi and zero-width characters become visible escapes,
and spreadsheet formula triggers are neutralised in CSV/TSV cells."""

from __future__ import annotations

import re
from typing import Final

# C0 controls, DEL, C1 controls, bidi embeddings/overrides/isolates and marks, zero-width and
# invisible format characters, line/paragraph separators, BOM.
_INVISIBLE: Final = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\ufff9-\ufffb]"
)
_FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r", "\n")


def visible(text: str) -> str:
    """Replace every invisible or control character by a `\\u{XXXX}`-style escape; a literal
    backslash-u sequence in the input cannot forge one, because backslashes are doubled first."""
    if not _INVISIBLE.search(text) and "\\" not in text:
        return text
    text = text.replace("\\", "\\\\")
    return _INVISIBLE.sub(lambda m: f"\\u{{{ord(m.group()):04x}}}", text)


def spreadsheet_safe(text: str) -> str:
    """Prefix a cell that a spreadsheet would evaluate as a formula with `'` (OWASP)."""
    return "'" + text if text.startswith(_FORMULA_TRIGGERS) else text
