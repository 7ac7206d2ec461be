"""Calendar expressions shared by the checks, the panel and the report."""

from __future__ import annotations

import polars as pl

from tokenaudit.config import AuditConfig


def week_of(day: pl.Expr, cfg: AuditConfig) -> pl.Expr:
    """The first day of the week `day` falls in, weeks starting on `cfg.week_start`."""
    return day - pl.duration(days=(day.dt.weekday() - 1 - cfg.week_start) % 7)


def rayleigh_p(n: pl.Expr, r: pl.Expr) -> pl.Expr:
    """P-value of Rayleigh's test of uniform phases, n angles with mean resultant length r
    (Zar's approximation, accurate for n ≥ 5): whether times keep in step with a clock's period."""
    rn = n * r
    return (((1 + 4 * n + 4 * (n**2 - rn**2)).sqrt() - (1 + 2 * n)).exp()).clip(0.0, 1.0)
