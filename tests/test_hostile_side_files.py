"""Side files and outputs someone else may have written or tampered with (issue 16, second
sweep): the identities file, suppressions, baselines, references, settings files, run manifests
and `verify`. Each test is one failure seen, stated as the behaviour that replaces it: a clear
one-line error with the documented exit code, never a traceback, never damage to a file the
user did not name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .conftest import CLI_ENV
from .test_verify import scanned_with_manifest


def invoke(*args: str) -> Any:
    from typer.testing import CliRunner

    from tokenaudit.cli import app

    return CliRunner(env=CLI_ENV).invoke(app, list(args))


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 12-person, 3-week organisation and its JSON report made with a manifest, from inside
    its directory (relative paths, as a cron job gives them)."""
    return scanned_with_manifest(tmp_path_factory.mktemp("side"), 12, 21, 5)


def tampered(org: Path, tmp_path: Path, edit: Any, name: str = "report.json") -> Path:
    doc = json.loads((org / name).read_text("utf-8"))
    edit(doc["run"]["manifest"] if name == "report.json" else doc)
    target = tmp_path / name
    target.write_text(json.dumps(doc), "utf-8")
    return target


# ----------------------------------------------------------------------------- verify


def test_verify_never_lets_a_recorded_setting_choose_where_the_rerun_writes(
    org: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")
    for name in ("report.json", "run.json"):
        report = tampered(
            org, tmp_path, lambda m: m["config"].update({f"output={victim}": True}), name
        )
        result = invoke("verify", str(report))
        assert result.exit_code == 65, result.stderr
        assert "is not an option's name" in result.stderr and "Traceback" not in result.stderr
        assert victim.read_text() == "keep me\n"


def test_a_recorded_value_is_never_read_as_an_option_of_the_rerun(
    org: Path, tmp_path: Path
) -> None:
    # `"account": true` then `"tz": "--output=FILE"` made `--account --tz --output=FILE`: the
    # account took `--tz` as its value, and `--output` replaced the re-run's own.
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me\n")

    def smuggle(manifest: dict[str, Any]) -> None:
        config = {k: v for k, v in manifest["config"].items() if k not in ("account", "tz")}
        manifest["config"] = {"account": True, "tz": f"--output={victim}", **config}

    for name in ("report.json", "run.json"):
        result = invoke("verify", str(tampered(org, tmp_path, smuggle, name)))
        assert "Traceback" not in result.stderr
        assert victim.read_text() == "keep me\n"


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(inputs="abc"),
        lambda m: m.update(inputs=[1, 2]),
        lambda m: m.update(files=[1]),
        lambda m: m.update(config=[1]),
        lambda m: m["inputs"][0].update(path=5),
        lambda m: m["config"].update(inputs="org/"),
        lambda m: m["config"].update(tz={"a": 1}),
    ],
)
def test_a_manifest_of_the_wrong_shape_is_bad_data_not_an_internal_error(
    org: Path, tmp_path: Path, edit: Any
) -> None:
    result = invoke("verify", str(tampered(org, tmp_path, edit)))
    assert result.exit_code == 65, result.stderr
    assert "not a manifest tokenaudit wrote" in result.stderr


def test_a_report_whose_rows_were_edited_after_it_was_written_is_not_vouched_for(
    org: Path, tmp_path: Path
) -> None:
    doc = json.loads((org / "report.json").read_text("utf-8"))
    doc["accounts"][0]["status"] = "ok"
    (tmp_path / "report.json").write_text(json.dumps(doc, indent=1), "utf-8")
    result = invoke("verify", str(tmp_path / "report.json"))
    assert result.exit_code == 65, result.stderr
    assert "changed after it was written" in result.stderr
    # Reformatted but not edited (jq, an editor): still the same report.
    doc["accounts"][0]["status"] = json.loads((org / "report.json").read_text())["accounts"][0][
        "status"
    ]
    (tmp_path / "report.json").write_text(json.dumps(doc, indent=4), "utf-8")
    assert invoke("verify", str(tmp_path / "report.json")).exit_code == 0


# ----------------------------------------------------------------------------- --reference


def a_reference() -> dict[str, Any]:
    """A reference as `scan sample_logs/ --save-reference` writes it."""
    from tokenaudit import __version__

    return {
        "format": "tokenaudit-reference",
        "format_version": 1,
        "tool_version": __version__,
        "period": {"first_day": "2026-03-02", "last_day": "2026-04-13", "days": 43},
        "window_days": 7,
        "cohort_size": 58,
        "merge_rate": 0.400974025974026,
        "settings": {"tz": "UTC", "quota": None, "snapshot_day": None, "change_date": None},
        "checks": {
            "automation": {
                **{f"{f}_a": 0.000469704086426 for f in ("cache-ratio", "no-sleep", "parallel")},
                **{f"{f}_b": 1.0 for f in ("cache-ratio", "no-sleep", "parallel", "regular")},
                **{"regular_a": 0.000469704086427, "same-size_a": 0.00047, "same-size_b": 1.0},
                **{"phase-locked_a": 0.171748527625, "phase-locked_b": 198.82825067},
            },
            "barren-days": {"a": 0.42425222304, "b": 1.95815019138},
            "excess-tokens": {
                **{"centre": -0.0889333219452, "intercept": 16.6667053117, "n": 55.0},
                **{"nu": 4.98555747621, "scale": 1.20938596057, "slope": 0.34628249424},
            },
            "heavy-weeks": {"centre": 0.337, "n": 50.0, "nu": 59.9996944452, "scale": 0.2111},
            "output-share": {
                **{"centre": -0.0223436282507, "n": 55.0, "nu": 59.9996348352},
                **{"scale": 0.99745303946, "share_centre": 1.98246673939},
                "share_scale": 0.377554966901,
            },
            "trivial-merges": {
                "rate_a": 7.08,
                "rate_b": 139.68,
                "share_a": 18.69,
                "share_b": 180.3,
            },
            "usage-jump": {
                **{"elasticity": 0.11190010865, "period_days": 43.0, "search_centre": 0.0992},
                **{"search_n": 52.0, "search_nu": 5.0, "search_scale": 0.313937667638},
            },
            "weekday-spikes": {"centre": 0.9998, "n": 52.0, "nu": 59.9996747094, "scale": 0.88},
        },
    }


def test_the_numbers_a_reference_must_hold_are_those_the_checks_read() -> None:
    from tokenaudit.checks.automation import FINGERPRINTS
    from tokenaudit.reference import REQUIRED_KEYS

    # `automation` judges every fingerprint but same-size (against a fixed rate) by the reference.
    assert REQUIRED_KEYS["automation"] == tuple(
        f"{f}_{s}" for f in FINGERPRINTS if f != "same-size" for s in "ab"
    )
    genuine = a_reference()["checks"]
    assert all(set(keys) <= set(genuine[check]) for check, keys in REQUIRED_KEYS.items())


def _edit(path: tuple[str, ...], value: Any) -> Any:
    def edit(doc: dict[str, Any]) -> None:
        for key in path[:-1]:
            doc = doc[key]
        if value is KeyError:
            del doc[path[-1]]
        else:
            doc[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (_edit(("checks", "excess-tokens", "slope"), KeyError), "has no 'slope'"),
        (_edit(("checks", "usage-jump", "search_scale"), KeyError), "has no 'search_scale'"),
        (_edit(("checks", "barren-days", "a"), 0.0), "a = 0.0"),
        (_edit(("checks", "automation", "regular_b"), -1.0), "regular_b = -1.0"),
        (_edit(("checks", "heavy-weeks", "scale"), 0.0), "scale = 0.0"),
        (_edit(("checks", "excess-tokens", "intercept"), 1e300), "intercept = 1e+300"),
        (_edit(("period", "days"), 10**400), "period.days is not a whole number"),
        # A 400-digit parameter overflowed `math.isfinite` itself (exit 70).
        (_edit(("checks", "excess-tokens", "intercept"), 10**400), "not a finite number"),
        (_edit(("period", "days"), 1e400), "not a whole number"),
        (_edit(("window_days",), 0), "window_days is not a whole number"),
        (_edit(("cohort_size",), True), "cohort_size is not a whole number"),
        (_edit(("merge_rate",), -1), "merge_rate is -1.0"),
        (_edit(("period", "first_day"), "\x1b[2J"), "period.first_day is not a date"),
    ],
)
def test_a_tampered_reference_is_refused_with_its_reason(
    tmp_path: Path, edit: Any, words: str
) -> None:
    from tokenaudit.errors import DataError
    from tokenaudit.reference import load_reference

    doc = a_reference()
    edit(doc)
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(doc), "utf-8")
    with pytest.raises(DataError) as caught:
        load_reference(path)
    assert words in str(caught.value)


@pytest.mark.parametrize("end", [0, 1])
def test_a_reference_at_the_edges_of_every_range_is_a_run_not_an_internal_error(
    org: Path, tmp_path: Path, end: int
) -> None:
    from tokenaudit.reference import _bounds, load_reference

    doc = a_reference()
    doc["checks"] = {c: {k: _bounds(k)[end] for k in p} for c, p in doc["checks"].items()}
    path = tmp_path / "ref.json"
    path.write_text(json.dumps(doc), "utf-8")
    load_reference(path)
    result = invoke("scan", str(org / "org"), "--reference", str(path), "-f", "json")
    assert result.exit_code in (0, 1), result.stderr
    json.loads(result.stdout)


# ----------------------------------------------------------------------------- settings files


def test_a_settings_file_with_a_byte_order_mark_is_read(
    org: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bom = b"\xef\xbb\xbf"
    (tmp_path / "own.toml").write_bytes(bom + b'tz = "Europe/Paris"\r\n')
    result = invoke("config", "--config", str(tmp_path / "own.toml"), str(org / "org"))
    assert result.exit_code == 0, result.stderr
    assert 'tz = "Europe/Paris"' in result.stdout
    # Discovered in pyproject.toml: it was ignored without a word.
    (tmp_path / "pyproject.toml").write_bytes(bom + b'[tool.tokenaudit]\ntz = "Europe/Paris"\n')
    monkeypatch.chdir(tmp_path)
    result = invoke("config", str(org / "org"))
    assert result.exit_code == 0, result.stderr
    assert 'tz = "Europe/Paris"' in result.stdout


@pytest.mark.parametrize("table", ["[tool]\ntokenaudit = 5\n", '[[tool.tokenaudit]]\ntz = "UTC"\n'])
def test_a_pyproject_whose_tokenaudit_entry_is_not_a_table_is_a_usage_error(
    org: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, table: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(table, "utf-8")
    monkeypatch.chdir(tmp_path)
    result = invoke("scan", str(org / "org"), "-f", "csv")
    assert result.exit_code == 2, result.stderr
    assert "pyproject.toml" in result.stderr and "must be a table of settings" in result.stderr


# ----------------------------------------------------------------------------- --baseline


def a_baseline(tmp_path: Path, accounts: Any, **run: Any) -> Path:
    doc = {"schema_version": 1, "run": {"as_of": "2026-03-01", **run}, "accounts": accounts}
    path = tmp_path / "before.json"
    path.write_text(json.dumps(doc), "utf-8")
    return path


@pytest.mark.parametrize("name", ["ACME\\jdoe", "eve\x1b[2J", "zoe\u202e", "C:\\u{0041}"])
def test_an_account_whose_name_a_report_escapes_is_the_same_account_in_the_next_run(
    tmp_path: Path, name: str
) -> None:
    import polars as pl

    from tokenaudit.baseline import compare, load_baseline
    from tokenaudit.report.sanitize import visible

    shown = visible(name)
    assert shown != name  # the JSON report shows it escaped
    before = load_baseline(a_baseline(tmp_path, [{"account": shown, "status": "suspicious"}]), 1)
    today = pl.DataFrame(
        {"rank": [1], "account": [name], "status": ["suspicious"], "flagged": [True]}
    )
    out = compare(today, before, as_of=None)
    assert out["change"].to_list() == ["unchanged"]  # not `new`, and not also `absent`
    assert out["first_flagged"].to_list() == [before.as_of]


@pytest.mark.parametrize(
    ("accounts", "run"),
    [(5, {}), (None, {}), ([], {"parameters": [1, 2]}), ([], {"parameters": "ab"})],
)
def test_a_baseline_of_the_wrong_shape_is_bad_data_not_an_internal_error(
    org: Path, tmp_path: Path, accounts: Any, run: dict[str, Any]
) -> None:
    path = a_baseline(tmp_path, accounts, **run)
    result = invoke("scan", str(org / "org"), "--baseline", str(path), "-f", "csv")
    assert result.exit_code == 65, result.stderr
    assert "not a tokenaudit JSON report" in result.stderr


# ----------------------------------------------------------------------------- --identities


@pytest.mark.parametrize(
    ("rows", "line", "words"),
    [
        # One spelling, two people: which of them got the merges was the order of the rows.
        ("ana@x.example,Ana,,\nANA@x.example,Bob,,\n", 3, "'ANA@x.example' is an alias of 'Bob'"),
        # Each the other's alias (a cycle).
        (
            "Ana,Bob,,\nBob,Ana,,\n",
            2,
            "'Ana' is a person of the identities file and, here, an alias",
        ),
        # A bot on one row and an engineer on another: excluded, never tested.
        ("a,Ana,,bot\nb,Ana,,engineer\n", 3, "'Ana' has role 'engineer' here and 'bot' on line 2"),
        ("a,Ana,web,\nb,ana,mobile,\n", 3, "'ana' is in team 'mobile' here and 'web' on line 2"),
    ],
)
def test_an_identities_file_that_says_two_things_about_one_person_is_refused_at_its_line(
    org: Path, tmp_path: Path, rows: str, line: int, words: str
) -> None:
    path = tmp_path / "people.csv"
    path.write_text("alias,account,team,role\n" + rows, "utf-8")
    logs = [str(org / "org" / name) for name in ("usage.csv", "commits.csv")]
    result = invoke("scan", *logs, "--identities", str(path))
    assert result.exit_code == 65, result.stderr
    assert f"people.csv:{line}: {words}" in result.stderr


def test_an_identities_file_that_repeats_itself_is_read(org: Path, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    text = (org / "org" / "identities.csv").read_text("utf-8")
    # Every row twice, the header once, with CRLF and a byte order mark.
    body = text.splitlines()[1:]
    path.write_bytes(
        b"\xef\xbb\xbf" + "\r\n".join([text.splitlines()[0], *body, *body, ""]).encode()
    )
    result = invoke(
        "scan",
        str(org / "org" / "usage.csv"),
        str(org / "org" / "commits.csv"),
        "--identities",
        str(path),
        "-f",
        "csv",
    )
    assert result.exit_code in (0, 1), result.stderr


# ----------------------------------------------------------------------------- --suppressions


@pytest.mark.parametrize("entries", ["[1, 2]", '["ana"]', '[{account = "a"}, 3]'])
def test_a_suppression_list_that_is_not_of_tables_is_a_usage_error_at_its_line(
    tmp_path: Path, entries: str
) -> None:
    from tokenaudit.errors import ConfigError
    from tokenaudit.suppressions import load_suppressions

    path = tmp_path / "reviewed.toml"
    path.write_text(f"# reviewed\nsuppression = {entries}\n", "utf-8")
    with pytest.raises(ConfigError, match=r"reviewed\.toml:2: 'suppression' must be"):
        load_suppressions(path, ["automation"])


def test_roles_that_differ_only_in_case_or_spaces_are_one_role(org: Path, tmp_path: Path) -> None:
    # Roles are read lower-cased and trimmed wherever they are used: no contradiction here.
    path = tmp_path / "people.csv"
    path.write_text("alias,account,team,role\na,Ana,,engineer\nb,Ana,, Engineer\n", "utf-8")
    logs = [str(org / "org" / name) for name in ("usage.csv", "commits.csv")]
    result = invoke("scan", *logs, "--identities", str(path), "--fail-on", "never")
    assert result.exit_code == 0, result.stderr
