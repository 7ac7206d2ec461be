"""Synthetic organisations with known honest people and known tokenmaxxers.

Used by `tokenaudit generate`, by `sample_logs/` and by the benchmarks. The population follows
research/methods.md §7: heavy-tailed honest usage with a weak link between tokens and merged
output, the hard honest archetypes (explorers, reviewers, late mergers, new joiners, people on
leave, squash-merge victims, overnight agent users, on-call engineers) and tokenmaxxing tactics
(scripted loops, swarm idlers, camouflage commits, drip-feeding, intermittent padding).

Everything is drawn from one `numpy.random.Generator(PCG64(seed))`, in a fixed order, so a seed
gives the same files byte for byte.

Modules: `base` (types, constants, calendar), `people` (who is which archetype, names,
identities, traits), `honest` (honest archetypes' usage and merges), `tactics` (tokenmaxxing
tactics), `rows` (usage sessions and commit rows as they are drawn), `frames` (the frames and the
files), `org` (`generate_org`: the order of the draws).
"""

from __future__ import annotations

from .base import (
    DAY_S,
    HONEST_ARCHETYPES,
    MAXXER_ARCHETYPES,
    MAXXER_WEIGHTS,
    QUOTA_HITTER_SHARE,
    START,
    Family,
    GeneratedOrg,
    Person,
    timezone_str,
)
from .frames import write_org
from .org import generate_org

__all__ = [
    "DAY_S",
    "HONEST_ARCHETYPES",
    "MAXXER_ARCHETYPES",
    "MAXXER_WEIGHTS",
    "QUOTA_HITTER_SHARE",
    "START",
    "Family",
    "GeneratedOrg",
    "Person",
    "generate_org",
    "timezone_str",
    "write_org",
]
