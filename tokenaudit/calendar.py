"""Calendar expressions shared by the checks and the report."""

from __future__ import annotations

import polars as pl

from tokenaudit.config import AuditConfig


def week_of(day: pl.Expr, cfg: AuditConfig) -> pl.Expr:
    """The first day of the week `day` falls in, weeks starting on `cfg.week_start`."""
    return day - pl.duration(days=(day.dt.weekday() - 1 - cfg.week_start) % 7)
