"""Make untrusted text inert: control, bidi and zero-width characters become visible escapes,
and spreadsheet formula triggers are neutralised in CSV/TSV cells."""

from __future__ import annotations

import unicodedata
from typing import Final

#: Unicode categories that render as nothing (or as something else): controls (Cc), every format
#: character (Cf: bidi controls, zero-width characters, soft hyphen, tag characters, musical
#: symbol format controls, BOM …), surrogates, private use and unassigned code points, line and
#: paragraph separators, and spaces other than U+0020 (a no-break space looks like a space).
#: The whole categories, not a list: the next invisible character Unicode adds is covered.
_HIDDEN_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})
#: Letters that render blank (Hangul fillers).
_BLANK_LETTERS: Final = frozenset("\u115f\u1160\u3164\uffa0")
_FORMULA_TRIGGERS: Final = ("=", "+", "-", "@", "\t", "\r", "\n")


def _hidden(char: str) -> bool:
    return char != " " and (
        unicodedata.category(char) in _HIDDEN_CATEGORIES or char in _BLANK_LETTERS
    )


def visible(text: str) -> str:
    """Replace every invisible or control character by a `\\u{XXXX}`-style escape; a literal
    backslash-u sequence in the input cannot forge one, because backslashes are doubled first."""
    if text.isascii() and text.isprintable() and "\\" not in text:
        return text  # the common case, without a look at each character
    if "\\" not in text and not any(_hidden(c) for c in text):
        return text
    text = text.replace("\\", "\\\\")
    return "".join(f"\\u{{{ord(c):04x}}}" if _hidden(c) else c for c in text)


def spreadsheet_safe(text: str) -> str:
    """Prefix a cell that a spreadsheet would evaluate as a formula with `'` (OWASP)."""
    return "'" + text if text.startswith(_FORMULA_TRIGGERS) else text
