"""Frames from the collected rows (usage, commits' schema, identities, truth) and the files
`tokenaudit generate` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

from .base import PRICE_PER_MTOK, GeneratedOrg, Person
from .rows import Rows
from .tactics import inflation

COMMIT_SCHEMA: Final = {
    "merged_at": pl.String,
    "author": pl.String,
    "lines_added": pl.Int64,
    "lines_deleted": pl.Int64,
    "sha": pl.String,
    "pr_id": pl.String,
    "files_changed": pl.Int64,
    "message": pl.String,
    "repo": pl.String,
}


def usage_frame(
    rng: np.random.Generator, rows: Rows, shock_at: tuple[float, float] | None = None
) -> pl.DataFrame:
    """The requests as canonical usage rows (costs, request and session ids, about 0.5 % of
    them exported twice); `shock_at` scales everything from a time on."""
    ts = np.concatenate(rows.ts)
    prompt = np.concatenate(rows.prompt)
    output = np.concatenate(rows.output)
    if shock_at is not None:
        # An org-wide shift: everyone uses more from this week on, for reasons of their own.
        scale = np.where(ts >= shock_at[0], shock_at[1], 1.0)
        prompt = np.round(prompt * scale)
        output = np.round(output * scale)
    output = output.astype(np.int64)
    cache_share = np.concatenate(rows.cache_share)
    session = np.concatenate(rows.session)
    account = np.repeat(np.array(rows.account, dtype=object), rows.count)
    cache_read = np.round(prompt * cache_share).astype(np.int64)
    cache_write = np.round(prompt * np.minimum(0.05, 1 - cache_share)).astype(np.int64)
    input_tokens = np.maximum(prompt.astype(np.int64) - cache_read - cache_write, 0)
    cost = (
        input_tokens * PRICE_PER_MTOK["input"]
        + output * PRICE_PER_MTOK["output"]
        + cache_read * PRICE_PER_MTOK["cache_read"]
        + cache_write * PRICE_PER_MTOK["cache_write"]
    ) / 1e6
    ids = rng.integers(0, 2**62, size=ts.size)
    df = pl.DataFrame(
        {
            "timestamp": (ts * 1e6).astype(np.int64),
            "account": account.tolist(),
            "input_tokens": input_tokens,
            "output_tokens": output,
            "cache_read_tokens": cache_read,
            "cache_write_tokens": cache_write,
            "model": "claude-sonnet-4-5",
            "cost_usd": np.round(cost, 6),
            "request_id": ids,
            "session_id": session,
        }
    ).with_columns(
        pl.col("timestamp")
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone("UTC")
        .dt.strftime("%Y-%m-%dT%H:%M:%S%.3fZ"),
        pl.format("req_{}", pl.col("request_id")).alias("request_id"),
        pl.format("ses_{}", pl.col("session_id")).alias("session_id"),
    )
    # Exports overlap: about 0.5 % of requests appear twice; a duplicate request_id counts once.
    dupes = df.filter(pl.Series(rng.uniform(size=df.height) < 0.005))
    return pl.concat([df, dupes]).sort("timestamp", "account", "request_id")


def identities_frame(people: list[Person]) -> pl.DataFrame:
    """Every alias a person uses (account, login, noreply address, personal e-mail)."""
    rows = []
    for p in people:
        rows.append((p.account, p.account, p.team, p.role))
        rows.append((p.login, p.account, p.team, p.role))
        rows.append((f"{p.gh_id}+{p.login}@users.noreply.github.com", p.account, p.team, p.role))
        if p.personal_email:
            rows.append((p.personal_email, p.account, p.team, p.role))
    rows.append(("ci-bot@acme.example", "ci-bot@acme.example", "platform", "bot"))
    return pl.DataFrame(rows, schema=["alias", "account", "team", "role"], orient="row").sort(
        "account", "alias"
    )


def truth_frame(people: list[Person]) -> pl.DataFrame:
    """Who is what: archetype, tokenmaxxer or not, team, role and weekly quota."""
    return pl.DataFrame(
        {
            "account": [p.account for p in people],
            "archetype": [p.archetype for p in people],
            "is_maxxer": [p.is_maxxer for p in people],
            "team": [p.team for p in people],
            "role": [p.role for p in people],
            "quota": [p.extra.get("quota") for p in people],
        }
    ).sort("account")


def inflation_frame(people: list[Person]) -> pl.DataFrame:
    """The token multiple each tokenmaxxer's tactic adds (null for honest people)."""
    return pl.DataFrame(
        {"account": [p.account for p in people], "inflation": [inflation(p) for p in people]},
        schema={"account": pl.String, "inflation": pl.Float64},
    ).sort("account")


def write_org(
    org: GeneratedOrg, outdir: Path, *, fmt: str = "csv", compress: bool = False
) -> list[Path]:
    """Write usage, commits, identities and truth files; returns the paths written."""
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in (("usage", org.usage), ("commits", org.commits)):
        if fmt == "parquet":
            path = outdir / f"{name}.parquet"
            frame.write_parquet(path, compression="zstd", statistics=False)
        else:
            path = outdir / (f"{name}.csv.gz" if compress else f"{name}.csv")
            if compress:
                import gzip

                data = frame.write_csv(line_terminator="\n").encode()
                with gzip.GzipFile(path, "wb", mtime=0) as fh:
                    fh.write(data)
            else:
                frame.write_csv(path, line_terminator="\n")
        written.append(path)
    for name, frame in (("identities", org.identities), ("truth", org.truth)):
        path = outdir / f"{name}.csv"
        frame.write_csv(path, line_terminator="\n")
        written.append(path)
    return written
