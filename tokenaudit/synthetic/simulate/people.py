"""Drawing the people: who is which archetype, their names and commit identities, their traits."""

from __future__ import annotations

import math

import numpy as np

from .base import (
    FIRST_NAMES,
    HONEST_ARCHETYPES,
    LAST_NAMES,
    MAXXER_ARCHETYPES,
    MAXXER_WEIGHTS,
    QUOTA_HITTER_SHARE,
    TEAMS,
    TIMEZONES,
    Family,
    Person,
)
from .honest import shape_honest
from .tactics import shape_tactic


def draw_people(
    rng: np.random.Generator,
    n: int,
    maxxer_share: float,
    quota: float | None,
    fam: Family,
) -> list[Person]:
    """`n` people in random order, about `maxxer_share` of them tokenmaxxers."""
    kinds, tactics = _kinds(rng, n, maxxer_share, quota)
    used: set[str] = set()
    people = []
    for i, kind in enumerate(kinds):
        name = _name(rng, i, used)
        p = _person(rng, i, name, kind, kind in tactics, fam)
        if kind in HONEST_ARCHETYPES:
            shape_honest(p, rng, fam)
        else:
            shape_tactic(p, rng, fam)
        people.append(p)
    return people


def _kinds(
    rng: np.random.Generator, n: int, maxxer_share: float, quota: float | None
) -> tuple[list[str], list[str]]:
    """Each person's archetype, shuffled, and the tactics in play."""
    n_maxxers = round(n * maxxer_share)
    tactics = list(MAXXER_ARCHETYPES)
    weights = list(MAXXER_WEIGHTS)
    if quota is not None:
        tactics.append("quota-hitter")
        weights = [w * (1 - QUOTA_HITTER_SHARE) for w in weights] + [QUOTA_HITTER_SHARE]
    maxxer_tactics = list(rng.choice(len(tactics), size=n_maxxers, p=weights))
    # Spread tactics so that small samples still show each one.
    for i in range(min(n_maxxers, len(tactics))):
        maxxer_tactics[i] = i
    n_honest = n - n_maxxers
    hard_share = rng.uniform(0.03, 0.08, size=len(HONEST_ARCHETYPES))
    honest_kinds: list[str] = []
    for kind, share in zip(HONEST_ARCHETYPES, hard_share, strict=True):
        honest_kinds += [kind] * max(1 if n_honest >= 40 else 0, round(share * n_honest))
    honest_kinds = honest_kinds[:n_honest]
    honest_kinds += ["typical"] * (n_honest - len(honest_kinds))
    kinds = honest_kinds + [tactics[t] for t in maxxer_tactics]
    order = rng.permutation(len(kinds))
    return [kinds[i] for i in order], tactics


def _name(rng: np.random.Generator, i: int, used: set[str]) -> tuple[str, str, str]:
    """First name, last name and a `first.last` handle not taken yet (numbered once every pair
    is)."""
    while True:
        first = str(rng.choice(FIRST_NAMES))
        last = str(rng.choice(LAST_NAMES))
        handle = f"{first}.{last}"
        if handle not in used:
            used.add(handle)
            return first, last, handle
        if len(used) >= len(FIRST_NAMES) * len(LAST_NAMES):
            handle = f"{first}.{last}{i}"
            used.add(handle)
            return first, last, handle


def _person(
    rng: np.random.Generator,
    i: int,
    name: tuple[str, str, str],
    kind: str,
    is_maxxer: bool,
    fam: Family,
) -> Person:
    """The person's identities (how they sign commits) and typical-person traits."""
    first, last, handle = name
    account = f"{handle}@acme.example"
    login = f"{first}{last[0]}{i % 97}"
    gh_id = int(rng.integers(1_000_000, 99_999_999))
    style = rng.uniform()
    personal = f"{first}.{last}@mail.example" if style > 0.85 else None
    if style < 0.6:
        commit_identity = account if rng.uniform() < 0.8 else account.upper()[:1] + account[1:]
    elif style < 0.85:
        commit_identity = f"{gh_id}+{login}@users.noreply.github.com"
    else:
        commit_identity = personal or account
    return Person(
        account=account,
        login=login,
        gh_id=gh_id,
        commit_identity=commit_identity,
        personal_email=personal,
        team=str(rng.choice(TEAMS)),
        role="engineer",
        archetype=kind,
        is_maxxer=is_maxxer,
        tz=float(rng.choice(TIMEZONES)),
        work_start=float(rng.uniform(7.5, 10.5)),
        work_hours=float(rng.uniform(7.0, 10.0)),
        base_tokens=float(7e6 * math.exp(rng.normal(0.0, fam.spread))),
        request_size=float(400e3 * math.exp(rng.normal(0.0, 0.4))),
        weekday_p=float(rng.uniform(0.7, 0.95)),
        weekend_p=0.0 if rng.uniform() < 0.8 else float(rng.uniform(0.1, 0.4)),
        elasticity=float(rng.uniform(0.15, 0.45)),
        frailty=float(math.exp(rng.normal(0.0, rng.uniform(0.4, 0.7)))),
        dispersion=float(rng.uniform(2.0, 6.0)),
        lag_median_days=1.5,
        cache_read_share=float(rng.uniform(0.80, 0.92)),
    )
