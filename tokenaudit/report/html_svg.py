"""Hand-written inline SVG for the HTML report: a scatter of accounts against the fitted line, p-value
histograms against uniform, and an account's weekly timeline.

Why SVG strings and not a plotting library: the report must open with the network off, so every
byte is inline; three chart types do not earn a dependency (a Plotly file carries 3.5 MB of
JavaScript before the first point, Matplotlib PNGs are opaque to search and to screen readers and
are not byte-identical across versions). SVG text is small (a point is one `<circle>`),
deterministic (every coordinate is rounded to 0.1 unit here), selectable, and safe: untrusted
names enter only as escaped text. Colours come from classes styled in `html_assets`, never
`style` attributes (the page's Content-Security-Policy forbids them).

Every function returns one `<svg>` element as text; nothing here reads a report.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from typing import Final

from tokenaudit.report.sanitize import visible


def esc(text: object) -> str:
    """Untrusted text made inert for HTML (and SVG) text and attribute values."""
    return escape(visible(str(text)), quote=True)


def num(value: float) -> str:
    """A coordinate: one decimal, no `-0.0`, so that the same chart is the same bytes."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def human(n: float) -> str:
    """1.2M, 340k, 12: counts as people read them."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}" if abs(n) >= 1 or n == 0 else f"{n:.2g}"


@dataclass(frozen=True)
class Scale:
    """A linear map from data `lo..hi` to pixels `start..end` (end < start for a y axis)."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.start + (value - self.lo) / span * (self.end - self.start)


def padded(values: Sequence[float], share: float = 0.05) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        lo, hi = lo - 1.0, hi + 1.0
    pad = (hi - lo) * share
    return lo - pad, hi + pad


def log_ticks(lo: float, hi: float) -> list[tuple[float, str]]:
    """Ticks at powers of ten (and 3×) inside the natural-log range `lo..hi`."""
    ticks = []
    for power in range(math.floor(lo / math.log(10)) - 1, math.ceil(hi / math.log(10)) + 2):
        for mult in (1, 3):
            value = mult * 10.0**power
            at = math.log(value)
            if lo <= at <= hi:
                ticks.append((at, re.sub(r"\.0(?=[kMG]?$)", "", human(value))))
    if len(ticks) > 8:
        ticks = [t for t in ticks if t[1][0] == "1" or t[1].startswith("0.1")][:8] or ticks[::2]
    return ticks


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    #: CSS class (the account's status).
    kind: str
    #: Hover text (the account and its numbers), untrusted.
    title: str
    #: A visible label next to the point (flagged accounts), untrusted; empty for none.
    label: str = ""


@dataclass(frozen=True)
class FittedLine:
    """y = intercept + slope·x + centre, with a band of ± `half_width` around it."""

    slope: float
    intercept: float
    centre: float
    half_width: float


_W: Final = 760
_H: Final = 440
_M: Final = (56, 20, 24, 48)  # left, right, top, bottom margins


def scatter(
    points: Sequence[Point],
    *,
    x_label: str,
    y_label: str,
    line: FittedLine | None,
    title: str,
) -> str:
    """Accounts in log–log space, with the fitted line and band when given."""
    if not points:
        return ""
    left, right, top, bottom = _M
    x_lo, x_hi = padded([p.x for p in points])
    y_lo, y_hi = padded([p.y for p in points])
    sx = Scale(x_lo, x_hi, left, _W - right)
    sy = Scale(y_lo, y_hi, _H - bottom, top)
    out = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
        f'<clipPath id="plot-area"><rect x="{left}" y="{top}" width="{_W - left - right}" '
        f'height="{_H - top - bottom}"/></clipPath>',
    ]
    out += _axes(sx, sy, log_ticks(x_lo, x_hi), log_ticks(y_lo, y_hi), x_label, y_label)
    if line is not None:
        out.append(_band(line, sx, sy))
    for p in points:
        out.append(
            f'<circle class="pt {p.kind}" cx="{num(sx(p.x))}" cy="{num(sy(p.y))}" r="3">'
            f"<title>{esc(p.title)}</title></circle>"
        )
    for p in points:
        if p.label:
            x = sx(p.x)
            anchor = "lbl end" if x > (sx.start + sx.end) * 0.6 else "lbl"
            out.append(
                f'<text class="{anchor}" x="{num(x + (-5 if anchor != "lbl" else 5))}" '
                f'y="{num(sy(p.y) - 4)}">{esc(_short(p.label))}</text>'
            )
    out.append("</svg>")
    return "\n".join(out)


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _band(line: FittedLine, sx: Scale, sy: Scale) -> str:
    xs = (sx.lo, sx.hi)

    def at(x: float, shift: float) -> str:
        return f"{num(sx(x))},{num(sy(line.intercept + line.slope * x + line.centre + shift))}"

    upper = [at(x, line.half_width) for x in xs]
    lower = [at(x, -line.half_width) for x in reversed(xs)]
    return (
        f'<g clip-path="url(#plot-area)"><polygon class="band" points="{" ".join(upper + lower)}"/>'
        f'<polyline class="fit" points="{" ".join(at(x, 0.0) for x in xs)}"/></g>'
    )


def _axes(
    sx: Scale,
    sy: Scale,
    x_ticks: list[tuple[float, str]],
    y_ticks: list[tuple[float, str]],
    x_label: str,
    y_label: str,
) -> list[str]:
    out = [
        f'<line class="axis" x1="{num(sx.start)}" y1="{num(sy.start)}" x2="{num(sx.end)}" y2="{num(sy.start)}"/>',
        f'<line class="axis" x1="{num(sx.start)}" y1="{num(sy.start)}" x2="{num(sx.start)}" y2="{num(sy.end)}"/>',
    ]
    for at, text in x_ticks:
        x = num(sx(at))
        out.append(
            f'<line class="grid" x1="{x}" y1="{num(sy.start)}" x2="{x}" y2="{num(sy.end)}"/>'
        )
        out.append(f'<text class="tick" x="{x}" y="{num(sy.start + 16)}">{esc(text)}</text>')
    for at, text in y_ticks:
        y = num(sy(at))
        out.append(
            f'<line class="grid" x1="{num(sx.start)}" y1="{y}" x2="{num(sx.end)}" y2="{y}"/>'
        )
        out.append(f'<text class="tick end" x="{num(sx.start - 6)}" y="{y}">{esc(text)}</text>')
    out.append(
        f'<text class="axis-label" x="{num((sx.start + sx.end) / 2)}" y="{num(sy.start + 36)}">{esc(x_label)}</text>'
    )
    out.append(
        f'<text class="axis-label" transform="translate(14 {num((sy.start + sy.end) / 2)}) rotate(-90)">{esc(y_label)}</text>'
    )
    return out


def p_histogram(check: str, p_values: Sequence[float], bins: int = 20) -> str:
    """A check's p-values in `bins` bins against the uniform distribution's expected count."""
    width, height, left, bottom, top = 230, 150, 30, 26, 22
    counts = [0] * bins
    for p in p_values:
        counts[min(int(p * bins), bins - 1)] += 1
    n = len(p_values)
    expected = n / bins
    peak = max([*counts, expected, 1.0])
    sy = Scale(0.0, peak, height - bottom, top)
    bar = (width - left - 6) / bins
    out = [
        f'<svg class="chart small" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="p-values of {esc(check)}">',
        f'<text class="chart-title" x="{left}" y="14">{esc(check)} (n={n})</text>',
    ]
    for i, c in enumerate(counts):
        y = sy(c)
        out.append(
            f'<rect class="hist" x="{num(left + i * bar)}" y="{num(y)}" width="{num(bar - 1)}" '
            f'height="{num(sy.start - y)}"><title>p in [{i / bins:.2f}, {(i + 1) / bins:.2f}): {c}</title></rect>'
        )
    ey = num(sy(expected))
    out += [
        f'<line class="uniform" x1="{left}" y1="{ey}" x2="{width - 6}" y2="{ey}"><title>uniform: {expected:.1f} per bin</title></line>',
        f'<line class="axis" x1="{left}" y1="{num(sy.start)}" x2="{width - 6}" y2="{num(sy.start)}"/>',
        f'<text class="tick" x="{left}" y="{height - 10}">0</text>',
        f'<text class="tick" x="{num((left + width - 6) / 2)}" y="{height - 10}">0.5</text>',
        f'<text class="tick" x="{width - 10}" y="{height - 10}">1</text>',
        f'<text class="tick end" x="{left - 4}" y="{num(sy(peak))}">{peak:.0f}</text>',
        "</svg>",
    ]
    return "\n".join(out)


@dataclass(frozen=True)
class Day:
    day: date
    tokens: int
    #: "followed", "barren" or "censored".
    status: str


def timeline(account: str, days: Sequence[Day], merges: dict[date, int]) -> str:
    """Weekly tokens stacked by follow-up status above the time axis, a strip of days (barren
    and censored marked), and weekly merged changes below, on one axis of Monday-weeks."""
    seen = [d.day for d in days] + list(merges)
    if not seen:
        return ""
    first = min(seen) - timedelta(days=min(seen).weekday())
    weeks = (max(seen) - first).days // 7 + 1
    stacks = [{"followed": 0, "barren": 0, "censored": 0} for _ in range(weeks)]
    for d in days:
        stacks[(d.day - first).days // 7][d.status] += d.tokens
    merged = [0] * weeks
    for day, n in merges.items():
        merged[(day - first).days // 7] += n
    # A fixed width: the text of every chart then prints at one size.
    left, width = 56, 760
    col = (width - left - 12) / weeks
    tok_top, tok_h, strip_y, merge_h = 18, 110, 134, 46
    merge_top = strip_y + 16
    height = merge_top + merge_h + 26
    peak_t = max(sum(s.values()) for s in stacks) or 1
    peak_m = max(merged) or 1
    out = [
        f'<svg class="chart timeline" viewBox="0 0 {num(width)} {height}" role="img" '
        f'aria-label="weekly timeline of {esc(account)}">',
        f'<text class="tick end" x="{left - 6}" y="{tok_top + 8}">{human(peak_t)}</text>',
        f'<text class="tick end" x="{left - 6}" y="{tok_top + tok_h}">tokens</text>',
        f'<text class="tick end" x="{left - 6}" y="{merge_top + 12}">merged</text>',
        f'<text class="tick end" x="{left - 6}" y="{merge_top + merge_h}">{peak_m}</text>',
    ]
    for w in range(weeks):
        x = left + w * col
        base = float(tok_top + tok_h)
        for status in ("followed", "barren", "censored"):
            h = stacks[w][status] / peak_t * tok_h
            if h > 0:
                base -= h
                out.append(
                    f'<rect class="tl-{status}" x="{num(x + 1)}" y="{num(base)}" width="{num(col - 2)}" height="{num(h)}">'
                    f"<title>week of {first + timedelta(days=7 * w)}: {human(stacks[w][status])} tokens {status}</title></rect>"
                )
        if merged[w]:
            h = merged[w] / peak_m * merge_h
            out.append(
                f'<rect class="tl-merged" x="{num(x + 1)}" y="{merge_top}" width="{num(col - 2)}" height="{num(h)}">'
                f"<title>week of {first + timedelta(days=7 * w)}: {merged[w]} merged changes</title></rect>"
            )
        if w % max(1, round(70 / col)) == 0:
            label = (first + timedelta(days=7 * w)).strftime("%d %b")
            out.append(f'<text class="tick" x="{num(x + col / 2)}" y="{height - 6}">{label}</text>')
    out += _day_strip(days, first, left, col, strip_y)
    out.append(
        f'<line class="axis" x1="{left}" y1="{tok_top + tok_h}" x2="{num(width - 12)}" y2="{tok_top + tok_h}"/>'
    )
    out.append("</svg>")
    return "\n".join(out)


def _day_strip(days: Sequence[Day], first: date, left: float, col: float, y: float) -> list[str]:
    cell = (col - 2) / 7
    out = []
    for d in days:
        offset = (d.day - first).days
        x = left + (offset // 7) * col + 1 + (offset % 7) * cell
        out.append(
            f'<rect class="day-{d.status}" x="{num(x)}" y="{num(y)}" width="{num(max(cell - 0.5, 0.5))}" height="10">'
            f"<title>{d.day}: {human(d.tokens)} tokens, {d.status}</title></rect>"
        )
    return out
