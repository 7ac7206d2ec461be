"""A reference population: the fitted null models of a larger scan, for teams too small to have
their own.

`scan --save-reference FILE` writes, for each check, the numbers its null model is made of (a
regression line, a location, a scale and a tail; beta-binomial shapes), with the period, the size
of the cohort they were fitted on, the follow-up window and the tool version. No account name,
no per-person figure: nothing in the file says anything about anybody.

`scan --reference FILE` compares every account with those null models instead of fitting them to
its own, possibly tiny, cohort. That is only as right as the reference is like the team: the
same kind of work, the same tools and models (tokens per merged change differ between a
Claude Code shop and a Copilot one by an order of magnitude), a period of similar length.
A reference from another version of the file format or of tokenaudit, or one whose period is too
short to stand for this one's, is refused with the reason.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from tokenaudit import __version__
from tokenaudit.errors import DataError, InputMissingError
from tokenaudit.sidefiles import read_side_file

if TYPE_CHECKING:
    from tokenaudit.config import AuditConfig
    from tokenaudit.model import AuditReport

FORMAT: Final = "tokenaudit-reference"
FORMAT_VERSION: Final = 1
#: A search for the best split over a longer period than the reference's has more chances of a
#: large statistic than the reference's null allows for: refused past this ratio.
MAX_PERIOD_RATIO: Final = 1.25
#: The numbers each check reads from its null model (the keys its `fit` writes); a model
#: without one of them stopped the run with a KeyError (exit 70). `usage-jump` reads a mode's
#: `{mode}_centre`, `_scale` and `_nu` only where its centre is given (`_GROUPS`).
_EMPIRICAL: Final = ("centre", "scale", "nu")
REQUIRED_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "automation": tuple(
        f"{f}_{s}"
        for f in ("no-sleep", "regular", "parallel", "phase-locked", "cache-ratio")
        for s in "ab"
    ),
    "barren-days": ("a", "b"),
    "excess-tokens": ("slope", "intercept", *_EMPIRICAL),
    "heavy-weeks": _EMPIRICAL,
    "output-share": (*_EMPIRICAL, "share_centre", "share_scale"),
    "trivial-merges": ("rate_a", "rate_b", "share_a", "share_b"),
    "usage-jump": ("elasticity",),
    "weekday-spikes": _EMPIRICAL,
}
#: Keys that come in groups: one of them given, the others are read too.
_GROUPS: Final = (
    ("search_centre", "search_scale", "search_nu"),
    ("date_centre", "date_scale", "date_nu"),
    ("snapshot_a", "snapshot_b"),
)
#: Bounds of the file's counts: a period of a century, a follow-up window of a year, and a
#: cohort larger than any organisation are not a scan's.
_MAX_DAYS: Final = 36_600
_MAX_WINDOW: Final = 366
_MAX_COHORT: Final = 100_000_000
_MAX_MERGE_RATE: Final = 1e6
#: By the last part of a parameter's name (`_bounds`): wider than any fit gives (a fitted scale
#: is never below 0.05, its floor in every check; degrees of freedom are fitted within 2 to 60;
#: a null is fitted on 10 accounts or more), narrow enough that no number a check works out
#: from them overflows.
_PARAMETER_BOUNDS: Final = {
    "a": (1e-9, 1e12),
    "b": (1e-9, 1e12),
    "scale": (0.01, 10.0),
    "nu": (2.0, 100.0),
    "n": (5.0, 1e9),
    "slope": (-5.0, 5.0),
    "elasticity": (-5.0, 5.0),
}
#: Any other number is a location on the log scale: e^50 tokens a day is more than any log holds.
_MAX_LOG: Final = 50.0


@dataclass(frozen=True)
class Reference:
    """The null models of one scan, by check id, and what they were fitted on."""

    name: str
    tool_version: str
    first_day: str
    last_day: str
    period_days: int
    window_days: int
    cohort_size: int
    #: The cohort's median merged changes per active day (the evidence gate's expectation).
    merge_rate: float
    nulls: dict[str, dict[str, float]]

    def describe(self) -> str:
        return (
            f"compared with the reference {self.name} ({self.cohort_size} accounts, "
            f"{self.first_day} to {self.last_day}, tokenaudit {self.tool_version}); "
            f"a review flag needs the evidence it would need among those {self.cohort_size} "
            "accounts"
        )

    def check_period(self, period_days: int) -> None:
        """Refuse a period the reference cannot stand for."""
        if period_days > MAX_PERIOD_RATIO * self.period_days:
            raise DataError(
                self.name,
                f"the reference covers {self.period_days} days and this scan {period_days}: a "
                f"reference must cover at least {1 / MAX_PERIOD_RATIO:.0%} of the scanned period "
                "(save one from a longer scan, or scan a shorter period with --since/--until)",
            )


def _same_release(a: str, b: str) -> bool:
    return a.split(".")[:2] == b.split(".")[:2]


def load_reference(path: Path) -> Reference:
    """Read and validate a reference file. Raises `InputMissingError` when it cannot be read and
    `DataError` when it is not a reference this version can use."""
    name = str(path)
    try:
        text = read_side_file(path, "the reference").decode("utf-8")
    except FileNotFoundError:
        raise InputMissingError(name) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(name, f"cannot read the reference: {exc}") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(name, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    except RecursionError:
        raise DataError(name, "not valid JSON: nested too deep") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise DataError(name, "not a tokenaudit reference (written by scan --save-reference)")
    if doc.get("format_version") != FORMAT_VERSION:
        raise DataError(
            name,
            f"reference format {doc.get('format_version')!r}; this tokenaudit reads format "
            f"{FORMAT_VERSION}: save the reference again with this version",
        )
    version = str(doc.get("tool_version", ""))
    if not _same_release(version, __version__):
        raise DataError(
            name,
            f"the reference was fitted by tokenaudit {version or 'unknown'}, this is "
            f"{__version__}: its checks' null models may differ; save it again with this version",
        )
    try:
        nulls = {
            str(check): {str(k): _number(name, v) for k, v in params.items()}
            for check, params in doc["checks"].items()
        }
        reference = Reference(
            name=name,
            tool_version=version,
            first_day=_day(name, "period.first_day", doc["period"]["first_day"]),
            last_day=_day(name, "period.last_day", doc["period"]["last_day"]),
            period_days=_count(name, "period.days", doc["period"]["days"], _MAX_DAYS),
            window_days=_count(name, "window_days", doc["window_days"], _MAX_WINDOW),
            cohort_size=_count(name, "cohort_size", doc["cohort_size"], _MAX_COHORT),
            merge_rate=_number(name, doc["merge_rate"]),
            nulls=nulls,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise DataError(name, f"reference is incomplete or malformed ({exc!r})") from None
    if not 0 <= reference.merge_rate <= _MAX_MERGE_RATE:
        raise DataError(
            name,
            f"reference's merge_rate is {reference.merge_rate!r}, not a number of merged changes "
            f"per active day (from 0 to {_MAX_MERGE_RATE:g})",
        )
    for check, params in sorted(nulls.items()):
        _check_null(name, check, params)
    return reference


def _number(name: str, value: Any) -> float:
    try:
        # An integer of 400 digits overflows the conversion (and `math.isfinite` of it).
        number = float(value) if not isinstance(value, bool) else math.nan
    except (OverflowError, TypeError, ValueError):
        number = math.nan
    if not isinstance(value, int | float) or not math.isfinite(number):
        raise DataError(
            name, f"reference holds a value that is not a finite number: {_shown(value)}"
        )
    return number


def _shown(value: Any) -> str:
    """`value` as the error quotes it: a 400-digit number is not read out in full."""
    text = repr(value)
    return text if len(text) <= 40 else text[:40] + "…"


def _day(name: str, key: str, value: Any) -> str:
    try:
        return date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise DataError(name, f"reference's {key} is not a date YYYY-MM-DD") from None


def _count(name: str, key: str, value: Any, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise DataError(
            name, f"reference's {key} is not a whole number from 1 to {most:,}: {_shown(value)}"
        )
    return value


def _bounds(key: str) -> tuple[float, float]:
    """The range of the parameter `key` (`_PARAMETER_BOUNDS`): positive for a beta shape (`a`,
    `b`, `*_a`, `*_b`), a scale, degrees of freedom or a count; a location within ±`_MAX_LOG`."""
    if key == "period_days":
        return 1.0, float(_MAX_DAYS)
    return _PARAMETER_BOUNDS.get(key.rsplit("_", 1)[-1], (-_MAX_LOG, _MAX_LOG))


def _check_null(name: str, check: str, params: dict[str, float]) -> None:
    """Refuse (`DataError`) a check's null model that no fit writes: a number its check reads
    missing, or a number out of the range a fit gives (`_bounds`: a zero scale divided by zero,
    a negative beta shape made every p-value NaN, a slope of 1e300 overflowed: each ended the
    run with exit 70)."""
    needed = list(REQUIRED_KEYS.get(check, ()))
    for group in _GROUPS:
        if any(k in params for k in group):
            needed += group
    missing = [k for k in needed if k not in params]
    if missing:
        raise DataError(name, f"reference's null model of {check} has no {missing[0]!r}")
    for key, value in sorted(params.items()):
        low, high = _bounds(key)
        if not low <= value <= high:
            raise DataError(
                name,
                f"reference's null model of {check} has {key} = {value!r}, which no fit gives "
                f"(from {low:g} to {high:g})",
            )


def dump_reference(report: AuditReport, cfg: AuditConfig) -> str:
    """The reference file of `report`'s scan (JSON, deterministic: same scan, same bytes)."""
    fitted = report.fit_null_models() if report.fit_null_models is not None else None
    if fitted is None or not fitted.nulls:
        raise DataError(
            "--save-reference",
            "this scan fitted no null model (a reference needs a cohort of at least 10 tested "
            "accounts)",
        )
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tool_version": __version__,
        "period": {
            "first_day": str(report.first_day),
            "last_day": str(report.last_day),
            "days": fitted.period_days,
        },
        "window_days": report.window_days,
        "cohort_size": fitted.cohort_size,
        "merge_rate": fitted.merge_rate,
        "settings": {
            "tz": cfg.tz,
            "quota": cfg.quota,
            "snapshot_day": cfg.snapshot_day,
            "change_date": str(cfg.change_date) if cfg.change_date else None,
        },
        "checks": {
            check: {k: float(f"{v:.12g}") for k, v in sorted(params.items())}
            for check, params in sorted(fitted.nulls.items())
        },
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
