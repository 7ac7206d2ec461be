"""The rows the generator collects before it builds frames: usage sessions (`Rows`) and merged
changes (`commit_row`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from .base import Person, timezone_str


class Rows:
    """Usage requests, one block of arrays per session, and the session counter."""

    def __init__(self) -> None:
        self.ts: list[np.ndarray] = []
        self.account: list[str] = []
        self.count: list[int] = []
        self.prompt: list[np.ndarray] = []
        self.output: list[np.ndarray] = []
        self.cache_share: list[np.ndarray] = []
        self.session: list[np.ndarray] = []
        #: The last session number handed out (the CI bot's requests are session 0).
        self.sessions = 0

    def new_session(self) -> int:
        self.sessions += 1
        return self.sessions

    def add_session(
        self,
        account: str,
        ts: np.ndarray,
        tokens: np.ndarray,
        output_share: float,
        cache_share: float,
    ) -> None:
        """One new session: `tokens` per request, split into prompt and output."""
        self.add(
            account,
            ts,
            np.round(tokens * (1 - output_share)),
            np.round(tokens * output_share),
            cache_share,
            self.new_session(),
        )

    def add(
        self,
        account: str,
        ts: np.ndarray,
        prompt: np.ndarray,
        output: np.ndarray,
        cache_share: float,
        session: int,
    ) -> None:
        self.ts.append(ts)
        self.account.append(account)
        self.count.append(ts.size)
        self.prompt.append(prompt)
        self.output.append(output)
        self.cache_share.append(np.full(ts.size, cache_share))
        self.session.append(np.full(ts.size, session, dtype=np.int64))


def random_sha(rng: np.random.Generator) -> str:
    return "".join(f"{b:02x}" for b in rng.integers(0, 256, size=20, dtype=np.uint8).tolist())


def commit_row(
    rng: np.random.Generator, p: Person, merged: datetime, lines: int, number: int, title: str
) -> dict[str, object]:
    """A merged change by `p`, its time written in their offset."""
    deleted = int(lines * rng.uniform(0, 0.5)) if lines > 3 else 0
    offset = timezone_str(p.tz)
    local = merged + timedelta(hours=p.tz)
    return {
        "merged_at": local.strftime("%Y-%m-%dT%H:%M:%S") + offset,
        "author": p.commit_identity,
        "lines_added": lines - deleted if lines > 3 else lines,
        "lines_deleted": deleted,
        "sha": random_sha(rng),
        "pr_id": str(number),
        "files_changed": int(1 + rng.poisson(2)),
        "message": f"{title} (#{number})" if not title.startswith("Revert") else title,
        "repo": f"acme/{p.team}",
    }
