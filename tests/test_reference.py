"""A reference population: a larger scan's fitted null models, for teams too small to have their
own (`--save-reference`, `--reference`)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.audit import run_audit
from tokenaudit.config import AuditConfig
from tokenaudit.errors import DataError, InputMissingError
from tokenaudit.loaders import expand_paths
from tokenaudit.model import AuditReport
from tokenaudit.reference import Reference, dump_reference, load_reference
from tokenaudit.synthetic.simulate import GeneratedOrg, generate_org, write_org

#: A team with a scripted loop sending identical requests a minute or two apart, every day.
LOOPING_TEAM_SEED = 53


def scan(org: GeneratedOrg, where: Path, cfg: AuditConfig) -> AuditReport:
    write_org(org, where, fmt="parquet")
    files = expand_paths(
        [where / "usage.parquet", where / "commits.parquet", where / "identities.csv"]
    )
    return run_audit(files, cfg, where)


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[AuditReport, GeneratedOrg]:
    org = generate_org(120, 63, 61, 0.05)
    return scan(org, tmp_path_factory.mktemp("large"), AuditConfig()), org


@pytest.fixture(scope="module")
def reference_file(
    large: tuple[AuditReport, GeneratedOrg], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    path = tmp_path_factory.mktemp("ref") / "reference.json"
    path.write_text(dump_reference(large[0], AuditConfig()), encoding="utf-8")
    return path


def test_a_reference_holds_fitted_numbers_and_nothing_about_anybody(
    large: tuple[AuditReport, GeneratedOrg], reference_file: Path
) -> None:
    report, org = large
    text = reference_file.read_text()
    for person in org.identities["alias"].to_list() + org.identities["account"].to_list():
        assert person not in text
    doc = json.loads(text)
    # 63 days of UTC logs span 64 local days somewhere (people work in many zones).
    assert doc["cohort_size"] >= 100 and doc["period"]["days"] in (63, 64)
    assert {"excess-tokens", "barren-days", "usage-jump", "automation", "trivial-merges"} <= set(
        doc["checks"]
    )
    assert dump_reference(report, AuditConfig()) == text  # same scan, same bytes


def test_a_small_team_is_judged_against_the_reference(reference_file: Path, tmp_path: Path) -> None:
    # Eight people, two of them tokenmaxxers (a scripted loop re-sending its request back to
    # back among them), 63 days.
    org = generate_org(8, 63, LOOPING_TEAM_SEED, 0.25)
    truth = dict(org.truth.select("account", "archetype").iter_rows())
    alone = scan(org, tmp_path / "alone", AuditConfig())
    assert set(alone.accounts["status"].to_list()) == {"insufficient_data", "excluded"}
    ref = load_reference(reference_file)
    compared = scan(org, tmp_path / "compared", AuditConfig(reference=ref))
    # The cohort the null was fitted on, not the 120 people of its organisation (a temporary
    # directory's name may hold "120" too: pytest-120).
    assert compared.reference is not None and "(120 accounts" not in compared.reference
    assert compared.reference.startswith("compared with the reference")
    cohort = load_reference(reference_file).cohort_size
    assert f"evidence it would need among those {cohort} accounts" in compared.reference
    status = dict(compared.accounts.select("account", "status").iter_rows())
    loop = next(a for a, kind in truth.items() if kind == "scripted-loop")
    assert status[loop] == "suspicious"
    honest = [a for a, kind in truth.items() if kind not in ("scripted-loop", "swarm-idler")]
    assert all(status[a] in ("ok", "insufficient_data") for a in honest)


def test_without_a_reference_each_row_says_what_is_missing_and_what_was_found(
    tmp_path: Path,
) -> None:
    org = generate_org(8, 63, LOOPING_TEAM_SEED, 0.25)
    report = scan(org, tmp_path, AuditConfig())
    loop = org.truth.filter(pl.col("archetype") == "scripted-loop")["account"][0]
    reason = report.accounts.filter(pl.col("account") == loop)["reasons"][0]
    assert "excess-tokens: cohort of 8 accounts is too small" in reason
    assert "--reference FILE" in reason
    # Identical request sizes need no cohort: shown, not judged.
    assert "shown, not judged: automation: identical request sizes" in reason


def _write(tmp_path: Path, doc: object) -> Path:
    path = tmp_path / "reference.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": 2}, "save the reference again"),
        ({"tool_version": "9.9.0"}, "fitted by tokenaudit 9.9.0"),
        ({"format": "something-else"}, "not a tokenaudit reference"),
        ({"merge_rate": "NaN"}, "not a finite number"),
        ({"checks": None}, "incomplete or malformed"),
    ],
)
def test_a_reference_of_another_version_or_shape_is_refused_with_the_reason(
    reference_file: Path, tmp_path: Path, change: dict[str, object], message: str
) -> None:
    doc = json.loads(reference_file.read_text()) | change
    with pytest.raises(DataError, match=message):
        load_reference(_write(tmp_path, doc))


def test_a_missing_or_broken_reference_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(InputMissingError):
        load_reference(tmp_path / "nowhere.json")
    broken = tmp_path / "broken.json"
    broken.write_text('{"format":\n', encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_reference(broken)
    assert info.value.line == 2


def test_a_reference_shorter_than_the_scanned_period_is_refused(
    reference_file: Path, tmp_path: Path
) -> None:
    ref = load_reference(reference_file)
    short = Reference(**{**ref.__dict__, "period_days": 30})
    with pytest.raises(DataError, match="covers 30 days"):
        scan(generate_org(8, 63, 53, 0.0), tmp_path, AuditConfig(reference=short))
