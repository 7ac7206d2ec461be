"""Who passes tier 2's mechanism screen among honest people, and what each confirmation rule lets through.

Reads the organisations that `blind_orgs.py --root DIR` leaves behind (each a folder with
`truth.csv` and its `report-<scan>.json` files) and works from the reports alone: per tested
account, its mechanism p-value, its checks' p-values and p_outcome.

1. Honest screen passes: the honest accounts that pass the screen (Benjamini–Hochberg over the
   scan's tested accounts, `decide.mechanism_screen`), with the checks that put them there. Tier
   2's error bound, P(≥ 1 honest `suspicious`) ≤ P(≥ 1 honest account passes), holds only while
   this list is short.
2. Confirmation rules, on the request-log scans (`*daily*` reports left out), for the accounts
   the screen passes on habitual mechanisms alone (`decide.screened_on_habit`): how many honest
   people and how many padders each rule confirms. `now` is tokenaudit's rule
   (`decide.tier_qvalues`: a habit is also held to Bonferroni's q / m in the screen); the
   others are the alternatives it was chosen from.

    python benchmarks/blind_orgs.py --orgs 8 --scenarios mixed launch --seed 4242 --root DIR
    python benchmarks/tier2_screen.py DIR [DIR ...]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tokenaudit.checks.base import Group
from tokenaudit.checks.registry import CHECKS
from tokenaudit.config import AuditConfig
from tokenaudit.decide import habitual_checks, mechanism_screen, screened_on_habit

GROUP = {c.id: c.group for c in CHECKS}
CONFIRMING_CONTEXT = {c.id for c in CHECKS if c.confirms and c.group is Group.CONTEXT}
PRIMARY = next(c.id for c in CHECKS if c.primary)

#: An account's row (`scan_rows`) → confirmed.
Rule = Callable[[dict], bool]
RULES: dict[str, Rule] = {
    "before: p_confirm <= 0.2 (context checks confirm too)": lambda r: r["p_confirm"] <= 0.2,
    "outcome tests only, p_outcome <= 0.1": lambda r: r["p_outcome"] <= 0.1,
    "outcome tests only, p_outcome <= 0.2": lambda r: r["p_outcome"] <= 0.2,
    "peer test p <= 0.1 or p_outcome <= 0.1": lambda r: (
        r["p_outcome"] <= 0.1 or r["p"].get(PRIMARY, 1.0) <= 0.1
    ),
    "p_peer <= 0.2 or p_outcome <= 0.1": lambda r: r["p_outcome"] <= 0.1 or r["p_peer"] <= 0.2,
    "now: p_peer <= 0.2 or p_outcome <= 0.1, the screen at q / m": lambda r: (
        (r["p_outcome"] <= 0.1 or r["p_peer"] <= 0.2)
        and r["p_mechanism"] * r["m"] <= AuditConfig().fdr_q
    ),
}


def bonferroni(ps: list[float], k: int | None = None) -> float:
    return min(1.0, (k if k is not None else len(ps)) * min(ps)) if ps else math.nan


def scan_rows(report: Path) -> list[dict]:
    """Per tested account: its name, p-values by check, p_mechanism, p_specific, p_outcome, p_peer
    and the confirmation p of the rule before habitual mechanisms."""
    rows = []
    for a in json.loads(report.read_text())["accounts"]:
        if a.get("p_outcome") is None:
            continue  # not tested (insufficient data, excluded)
        p = {
            c["id"]: c["p_value"]
            for c in a["checks"]
            if c["applicable"] and c["p_value"] is not None
        }
        mechanism = [k for k in p if GROUP.get(k) is Group.MECHANISM]
        outcome = [k for k in p if GROUP.get(k) is Group.OUTCOME]
        specific = [p[k] for k in mechanism if k not in habitual_checks()]
        context = [p[k] for k in p if k in CONFIRMING_CONTEXT]
        p_outcome = float(a["p_outcome"])
        rows.append(
            {
                "account": a["account"],
                "status": a["status"],
                "p": p,
                "p_mechanism": a["p_mechanism"] if a.get("p_mechanism") is not None else math.nan,
                "p_specific": bonferroni(specific, len(mechanism)),
                "p_outcome": p_outcome,
                "p_peer": bonferroni([p[PRIMARY]], len(outcome)) if PRIMARY in p else math.nan,
                "p_confirm": min(p_outcome, bonferroni(context)) if context else p_outcome,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("roots", nargs="+", type=Path, help="--root folders of blind_orgs.py")
    args = ap.parse_args(argv)
    cfg = AuditConfig()
    scans = scans_with_pass = 0
    passes: list[str] = []
    people: set[tuple[str, str]] = set()
    confirmed: Counter[tuple[str, str]] = Counter()
    request_log_scans = 0
    for root in args.roots:
        for org in sorted(p for p in root.iterdir() if (p / "truth.csv").exists()):
            truth = {r["account"]: r for r in csv.DictReader((org / "truth.csv").open())}
            for report in sorted(org.glob("report-*.json")):
                scan = report.stem.removeprefix("report-")
                rows = scan_rows(report)
                if not rows:
                    continue
                for r in rows:
                    r["m"] = len(rows)
                scans += 1
                p_mech = np.array([r["p_mechanism"] for r in rows], dtype=np.float64)
                screened = mechanism_screen(p_mech, cfg)
                habit = screened_on_habit(p_mech, np.array([r["p_specific"] for r in rows]), cfg)
                honest_here = 0
                for r, s in zip(rows, screened, strict=True):
                    t = truth[r["account"]]
                    if s and t["honest"] == "true":
                        honest_here += 1
                        people.add((f"{root}/{org.name}", r["account"]))
                        strong = ", ".join(
                            f"{k} p={v:.1g}"
                            for k, v in sorted(r["p"].items())
                            if GROUP.get(k) is Group.MECHANISM and v <= 1e-3
                        )
                        passes.append(
                            f"| {org.name} | {scan} | {r['account']} | {t['archetype']} "
                            f"| {t['addons'] or '–'} | {t['agent_kind'] or '–'} | {strong} "
                            f"| {r['p_outcome']:.3g} | {r['status']} |"
                        )
                scans_with_pass += honest_here > 0
                if "daily" in scan:
                    continue
                request_log_scans += 1
                for r, on_habit in zip(rows, habit, strict=True):
                    if not on_habit:
                        continue
                    t = truth[r["account"]]
                    who = (
                        "honest"
                        if t["honest"] == "true"
                        else (
                            "trivial-merge padders" if t["tactic"] == "trivial" else "other padders"
                        )
                    )
                    for name, rule in RULES.items():
                        if rule(r):
                            confirmed[(name, who)] += 1
    print(f"# Tier 2's screen on {scans} scans\n")
    print(
        f"Honest accounts passing the mechanism screen: {len(passes)} passes by {len(people)} people, "
        f"in {scans_with_pass} of {scans} scans.\n"
    )
    print(
        "| organisation | scan | account | archetype | add-ons | agents | mechanism p ≤ 0.001 | p_outcome | status |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(passes))
    print(
        f"\n## Confirmation rules for accounts screened on habitual mechanisms alone "
        f"({request_log_scans} request-log scans)\n"
    )
    print("| rule | honest confirmed | trivial-merge padders confirmed | other padders confirmed |")
    print("|---|---:|---:|---:|")
    for name in RULES:
        print(
            f"| {name} | {confirmed[(name, 'honest')]} | {confirmed[(name, 'trivial-merge padders')]} "
            f"| {confirmed[(name, 'other padders')]} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
