"""Size and rendering time of the HTML report (`--format html`) at 200 and 2,000 accounts.

Each organisation is generated (`tokenaudit.synthetic.simulate.generate_org`, 63 days, 8 % tokenmaxxers),
audited in-process (`run_audit`), then rendered three times; the best time is printed, with the
page's size, the number of flagged accounts (each has its own section and timeline) and the
time of the fitted line (`report.fit_null_models`, which the renderer calls). The bound the
issue sets: under 5 MB at 2,000 accounts.

    python benchmarks/html_report.py
    python benchmarks/html_report.py --accounts 200 2000 5000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from tokenaudit.audit import run_audit
from tokenaudit.config import AuditConfig
from tokenaudit.loaders import expand_paths
from tokenaudit.report.html import render_html
from tokenaudit.report.interface import RenderContext
from tokenaudit.synthetic.simulate import generate_org, write_org

LIMIT = 5 * 1024 * 1024


def measure(accounts: int, seed: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        write_org(generate_org(accounts, 63, seed, 0.08), where, fmt="parquet")
        files = expand_paths(
            [where / "usage.parquet", where / "commits.parquet", where / "identities.csv"]
        )
        started = time.perf_counter()
        report = run_audit(files, AuditConfig(), where)
        audit_s = time.perf_counter() - started
    ctx = RenderContext(cfg=AuditConfig(), shown=report.accounts.sort("rank"))
    fit_s = 0.0
    if report.fit_null_models is not None:
        started = time.perf_counter()
        models = report.fit_null_models()
        fit_s = time.perf_counter() - started
        # Render with the fitted models cached, so that the render time is the renderer's own.
        report = replace(report, fit_null_models=lambda: models)
    times, page = [], ""
    for _ in range(3):
        started = time.perf_counter()
        page = render_html(report, ctx)
        times.append(time.perf_counter() - started)
    size = len(page.encode("utf-8"))
    return {
        "accounts": report.accounts.height,
        "flagged": int(report.accounts["flagged"].sum()),
        "bytes": size,
        "render_s": min(times),
        "fit_s": fit_s,
        "audit_s": audit_s,
        "within_limit": size < LIMIT,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[200, 2000])
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        "| accounts | flagged | HTML size | render | + fitted line | audit | < 5 MB |\n"
        "|---:|---:|---:|---:|---:|---:|---|"
    )
    for n in args.accounts:
        m = measure(n, args.seed)
        print(
            f"| {m['accounts']:,} | {m['flagged']} | {m['bytes'] / 1e6:.2f} MB | "
            f"{m['render_s']:.2f} s | {m['fit_s']:.2f} s | {m['audit_s']:.1f} s | "
            f"{'yes' if m['within_limit'] else 'NO'} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
