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
#: Characters that are never hidden: ASCII from the space to the tilde.
_PRINTABLE_ASCII: Final = frozenset(map(chr, range(0x20, 0x7F)))


def _hidden(char: str) -> bool:
    return char != " " and (
        unicodedata.category(char) in _HIDDEN_CATEGORIES or char in _BLANK_LETTERS
    )


def visible(text: str) -> str:
    """Replace every invisible or control character by a `\\u{XXXX}`-style escape; a literal
    backslash-u sequence in the input cannot forge one, because backslashes are doubled first."""
    if text.isascii() and text.isprintable() and "\\" not in text:
        return text  # the common case, without a look at each character
    # NOTE: each distinct character is looked at once, and printable ASCII never hides: a
    # check's summary ("×", "–") took 10 µs a string character by character (2.6 s for the
    # JSON report of 10,000 accounts × 9 checks), 1 µs like this.
    if "\\" not in text and not any(map(_hidden, set(text).difference(_PRINTABLE_ASCII))):
        return text
    text = text.replace("\\", "\\\\")
    return "".join(f"\\u{{{ord(c):04x}}}" if _hidden(c) else c for c in text)


def spreadsheet_safe(text: str) -> str:
    """Prefix a cell that a spreadsheet would evaluate as a formula with `'` (OWASP)."""
    return "'" + text if text.startswith(_FORMULA_TRIGGERS) else text
