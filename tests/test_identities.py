"""Who is who: hints for spellings the identities file does not map."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

from typer.testing import CliRunner

from tokenaudit.cli import app
from tokenaudit.identities import likely_aliases

PEOPLE = [
    "vera.silva@corp.example",
    "vera.silva57@corp.example",
    "john.smith@corp.example",
    "li.wu@corp.example",
    "zoe.jensen@corp.example",
]


def test_a_personal_address_or_login_made_of_a_name_is_a_hint_for_that_person() -> None:
    hints = likely_aliases(PEOPLE, ["jsmith", "smithj@home.example", "zojensen68"])
    assert hints == {
        "john.smith@corp.example": ["jsmith", "smithj@home.example"],
        "zoe.jensen@corp.example": ["zojensen68"],
    }


def test_a_spelling_that_fits_two_people_or_is_too_short_is_no_hint() -> None:
    # Two Vera Silvas share every key; "liwu" is too short to say who it is; a login that is no
    # name says nothing.
    assert likely_aliases(PEOPLE, ["vesilva31@gmail.com", "liwu", "octocat"]) == {}


def test_a_person_of_the_identities_file_or_a_namesake_among_the_authors_is_no_hint() -> None:
    # Jane Smith is a person of her own in the identities file, not Jane Smith 2's alias; and
    # "jsmith" could be John or Jane, who commits without usage.
    registered = {"jane.smith@corp.example": "jane.smith@corp.example"}
    assert (
        likely_aliases(["jane.smith2@corp.example"], ["jane.smith@corp.example"], registered) == {}
    )
    assert likely_aliases(["john.smith@corp.example"], ["jsmith", "jane.smith@home.example"]) == {}


def test_accents_and_case_do_not_hide_a_hint() -> None:
    assert likely_aliases(["José.García@corp.example"], ["jgarcia"]) == {
        "José.García@corp.example": ["jgarcia"]
    }


def test_an_address_whose_local_part_is_a_mapped_login_is_a_hint_for_its_owner() -> None:
    known = {"vesilva31": "vera.silva@corp.example"}
    assert likely_aliases(PEOPLE, ["vesilva31@gmail.com"], known) == {
        "vera.silva@corp.example": ["vesilva31@gmail.com"]
    }


def test_a_flagged_account_whose_merges_sit_under_an_unmapped_address_is_named(
    small_org: Path, tmp_path: Path
) -> None:
    # The same organisation, one flagged person's commits moved to a personal address that the
    # identities file does not map: the scan says whose they probably are, so that nobody reads
    # the flag without that.
    runner = CliRunner()
    first = runner.invoke(app, ["scan", str(small_org), "--format", "csv", "--exit-zero"])
    flagged = next(
        r["account"]
        for r in csv.DictReader(io.StringIO(first.stdout))
        if r["status"] in ("suspicious", "review") and int(r["merged_changes"]) > 0
    )
    given, family = flagged.split("@")[0].split(".")[:2]
    personal = f"{given[0]}{family}77@home.example"
    org = tmp_path / "org"
    shutil.copytree(small_org, org)
    (org / "truth.csv").unlink()
    with (org / "identities.csv").open() as f:
        aliases = {r["alias"].lower() for r in csv.DictReader(f) if r["account"] == flagged}
    with (org / "commits.csv").open() as f:
        rows = list(csv.DictReader(f))
    moved = 0
    for row in rows:
        if row["author"].lower() in aliases:
            row["author"], moved = personal, moved + 1
    assert moved > 0
    with (org / "commits.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(app, ["scan", str(org), "--format", "csv", "--exit-zero"])
    assert result.exit_code == 0, result.stderr
    hint = [line for line in result.stderr.splitlines() if personal in line]
    assert len(hint) == 1 and flagged in hint[0] and "--identities" in hint[0]
    # Pseudonymised, the hint names pseudonyms only; a rollup by team names nobody.
    key = tmp_path / "key"
    key.write_bytes(bytes(range(48)))
    key.chmod(0o600)
    hidden = runner.invoke(
        app, ["scan", str(org), "--format", "csv", "--exit-zero", "--pseudonymize", str(key)]
    )
    assert hidden.exit_code == 0, hidden.stderr
    assert "may be the same person" in hidden.stderr
    assert flagged not in hidden.stderr and personal not in hidden.stderr
    rollup = runner.invoke(app, ["teams", str(org), "--exit-zero"])
    assert rollup.exit_code == 0, rollup.stderr
    assert flagged not in rollup.stderr and personal not in rollup.stderr
