"""The lines `scan` writes on stderr beside its report: warnings always, the run's summary on a
terminal or with --verbose. Built here, written by the CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tokenaudit.pricing import unpriced_note
from tokenaudit.report.sanitize import visible

if TYPE_CHECKING:
    from tokenaudit.config import AuditConfig
    from tokenaudit.model import AuditReport

_STATUSES = ("suspicious", "review", "ok", "insufficient_data", "excluded")


def run_notes(
    report: AuditReport, cfg: AuditConfig, *, summary: bool, per_person: bool = True
) -> list[str]:
    """Every note as one line (without the `tokenaudit: ` prefix or the newline). Without
    `per_person` (a rollup by team, which must single nobody out), no line names a person."""
    lines = _reject_notes(report)
    unpriced = unpriced_note(report.unpriced, report.prices or "the shipped table")
    if unpriced is not None:
        lines.append(visible(unpriced))
    if (
        report.merges_known_until
        and report.first_day
        and report.merges_known_until < report.first_day
    ):
        lines.append(
            f"warning: the commit log ends on {report.merges_known_until}, before the usage starts "
            f"({report.first_day}); no usage day can be judged"
        )
    if report.skipped:
        names = _some(report.skipped)
        # Each entry names its own reason, "name (why)".
        lines.append(f"note: skipped {len(report.skipped)} file(s) that are not logs: {names}")
    if report.unmatched_usage or report.unmatched_authors:
        lines.append(
            f"warning: {len(report.unmatched_usage)} usage accounts have no merged change and "
            f"{len(report.unmatched_authors)} commit authors have no usage; check --identities"
        )
    if per_person:
        lines.extend(_alias_hints(report))
    lines.extend(_listing_notes(report))
    zone_less = sum(s.zone_less for s in report.inputs)
    if zone_less:
        lines.append(
            f"note: {zone_less} timestamps had no time zone and were read as {cfg.assume_tz} "
            "(--assume-tz ZONE to say otherwise, --assume-tz none to reject them)"
        )
    if report.pseudonymised:
        lines.append("note: accounts are pseudonymised; pseudonymised data is still personal data")
    if report.reference:
        lines.append(f"note: {report.reference}")
    by = dict(report.accounts.group_by("status").len().iter_rows())
    judged = sum(by.get(s, 0) for s in ("suspicious", "review", "ok"))
    people = report.accounts.height - by.get("excluded", 0)
    if people and not judged:
        lines.append(
            f"note: none of the {people} accounts could be judged (each row says what is "
            "missing; a team under 10 tested accounts needs --reference FILE)"
        )
    if summary:
        parts = [f"{by.get(s, 0)} {s}" for s in _STATUSES]
        lines.append(
            f"{report.accounts.height} accounts ({judged} of {people} could be judged), "
            f"{report.first_day} to {report.last_day}, "
            f"window {report.window_days} d: {', '.join(parts)}"
        )
    return lines


def _listing_notes(report: AuditReport) -> list[str]:
    """A file of a paginated listing whose every page says more follow, when no file of the
    same export holds a page that ends it: the rest of the listing was not saved (`curl` of
    the first page without following its cursor), and was read as if it were all of it.
    (Pages saved one per file, the last among them, are a whole listing.)"""
    ended = {s.fmt for s in report.inputs if s.listing == "ends"}
    return [
        f"warning: {visible(s.name)}: every page in it says more follow and no input ends the "
        "listing: only these pages were read (fetch the rest of it)"
        for s in report.inputs
        if s.listing == "continues" and s.fmt not in ended
    ]


def _reject_notes(report: AuditReport) -> list[str]:
    lines = []
    duplicate = report.rejects["code"] == "duplicate_request"
    bad = report.rejects.filter(~duplicate)
    if duplicate.any():
        lines.append(
            f"note: {int(duplicate.sum())} repeated request ids counted once (--rejects FILE lists them)"
        )
    stray = bad["code"] == "stray_date"
    if stray.any():
        days = bad.filter(stray)["reason"].str.extract(r"timestamp (\S+) is far", 1).unique().sort()
        shown = ", ".join(days.head(3).to_list()) + (" …" if days.len() > 3 else "")
        lines.append(
            f"warning: {int(stray.sum())} usage rows dated far outside the rest of "
            f"the data ({shown}) were set aside so that they do not stretch the audited period; "
            "pass --since/--until to include them"
        )
    if bad.height:
        first = bad.row(0, named=True)
        files = bad["file"].n_unique()
        lines.append(
            f"warning: {bad.height} input rows rejected in {files} file(s) (--rejects FILE lists "
            f"them); first at {visible(first['file'])}:{first['line']}: {visible(first['reason'])}"
        )
    return lines


#: At most this many flagged accounts get a line of their own; the rest are counted.
_ALIAS_HINTS = 5


def _alias_hints(report: AuditReport) -> list[str]:
    """A warning for each flagged account whose merges may sit under a spelling the identities
    file does not map: its flag may rest on merged work the scan never credited to it."""
    flagged = report.accounts.filter(report.accounts["status"].is_in(["suspicious", "review"]))
    hinted = [a for a in flagged["account"].to_list() if a in report.likely_aliases]
    lines = [
        f"warning: {visible(a)} is flagged, and commit author(s) "
        f"{_some(report.likely_aliases[a])} with no usage may be the same person; their merges "
        "are not credited to it (map them with --identities)"
        for a in hinted[:_ALIAS_HINTS]
    ]
    if len(hinted) > _ALIAS_HINTS:
        lines.append(
            f"warning: {len(hinted) - _ALIAS_HINTS} more flagged accounts may have merges under "
            "unmapped spellings (`tokenaudit inspect` lists the commit authors without usage)"
        )
    return lines


def _some(names: list[str], shown: int = 3) -> str:
    """`names`, escaped: the first `shown` of them and how many more."""
    listed = ", ".join(visible(n) for n in names[:shown])
    return listed + (f", … ({len(names) - shown} more)" if len(names) > shown else "")
