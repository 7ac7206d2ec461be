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
        return Reference(
            name=name,
            tool_version=version,
            first_day=str(doc["period"]["first_day"]),
            last_day=str(doc["period"]["last_day"]),
            period_days=int(doc["period"]["days"]),
            window_days=int(doc["window_days"]),
            cohort_size=int(doc["cohort_size"]),
            merge_rate=_number(name, doc["merge_rate"]),
            nulls=nulls,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise DataError(name, f"reference is incomplete or malformed ({exc!r})") from None


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DataError(name, f"reference holds a value that is not a finite number: {value!r}")
    return float(value)


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
