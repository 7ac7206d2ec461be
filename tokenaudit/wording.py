"""How numbers of evidence are written, wherever they are written: checks' summaries, reasons,
`explain`. One place, so that the same p-value never reads two ways."""

from __future__ import annotations

from typing import Final

#: Reasons list checks at or below this p-value.
REASON_P: Final = 0.05


def p_is(p: float) -> str:
    """`p=0.004`, or `p<1e-12` where the model's tail sets the digits."""
    text = format_p(p)
    return f"p{text}" if text.startswith("<") else f"p={text}"


def format_p(p: float) -> str:
    """p-values as people read them; below 1e-12 the model's tail, not the data, sets the digits."""
    if p < 1e-12:
        return "<1e-12"
    if p >= 0.001:
        return f"{p:.3f}".rstrip("0").rstrip(".") if p < 1 else "1"
    return f"{p:.0e}".replace("e-0", "e-")
