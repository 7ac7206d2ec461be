"""Settings files: every `scan` option by its long name, validated by the command's own
parameters, and every mistake named with its `file:line`."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main

from tokenaudit.cli import app
from tokenaudit.errors import ConfigError, InputMissingError
from tokenaudit.settings import (
    ConfigFile,
    as_toml,
    discover,
    effective,
    key_line,
    load_config,
    settable,
)


@pytest.fixture(scope="module")
def scan() -> Any:
    return typer.main.get_command(app).commands["scan"]  # type: ignore[attr-defined]


def load(scan: Any, path: Path, table: str | None = None) -> ConfigFile:
    return load_config(path, scan.params, typer.Context(scan), table=table)


def test_every_option_of_scan_has_a_key(scan: Any) -> None:
    keys = settable(scan.params)
    assert {"inputs", "identities", "repo", "tz", "window", "quota", "snapshot-day"} <= set(keys)
    assert {"change-date", "fail-on", "format", "output", "reference", "all"} <= set(keys)
    assert "help" not in keys and "config" not in keys
    # Generic: every parameter but the excluded ones is there, whatever is added later.
    assert len(keys) == len([p for p in scan.params if p.name not in ("help", "config")])


def test_values_lines_and_relative_paths(scan: Any, tmp_path: Path) -> None:
    cfg = tmp_path / "tokenaudit.toml"
    cfg.write_text(
        "# weekly audit\n"
        'inputs = ["logs/"]\n'
        'identities = "people.csv"\n'
        "\n"
        'fail_on = "review"\n'
        "top = 5\n"
        "all = true\n"
        "change-date = 2026-03-02\n"
        'tz = "Europe/Berlin"\n'
    )
    loaded = load(scan, cfg)
    s = loaded.settings
    assert s["paths"].value == [str(tmp_path / "logs")]
    assert s["identities"].value == [str(tmp_path / "people.csv")]
    assert s["fail_on"].value == "review" and s["fail_on"].where == f"{cfg}:5"
    assert s["top"].value == 5 and s["top"].where == f"{cfg}:6"
    assert s["show_all"].value is True
    assert s["change_date"].value == "2026-03-02"
    assert s["paths"].where == f"{cfg}:2"
    assert len(loaded.sha256) == 64


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            'tz = "UTC"\nfial-on = "review"\n',
            2,
            ["unknown key 'fial-on'", "did you mean 'fail-on'"],
        ),
        ("\n\ntop = 0\n", 3, ["key 'top'", "greater than or equal to 1"]),
        ('top = "five"\n', 1, ["key 'top'", "a whole number"]),
        ('all = "yes"\n', 1, ["key 'all'", "true or false"]),
        ('format = "xml"\n', 1, ["key 'format'"]),
        ('fail-on = "review"\nfail_on = "never"\n', 2, ["sets 'fail-on' again", ":1"]),
        ("quota = 0.5\n", 1, ["key 'quota'"]),
        ("usage = [1, 2]\n", 1, ["key 'usage'", "a list of strings"]),
        ('[scan]\ntz = "UTC"\n', 1, ["unknown key 'scan'"]),
        ('tz = "UTC"\ntop = \n', 2, ["not valid TOML"]),
    ],
)
def test_mistakes_name_key_and_line(
    scan: Any, tmp_path: Path, text: str, line: int, words: list[str]
) -> None:
    cfg = tmp_path / "tokenaudit.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load(scan, cfg)
    message = str(err.value)
    assert message.startswith(f"{cfg}:{line}:"), message
    for word in words:
        assert word in message, message


def test_missing_file_is_an_input_error(scan: Any, tmp_path: Path) -> None:
    with pytest.raises(InputMissingError):
        load(scan, tmp_path / "nope.toml")


def test_pyproject_table_is_discovered_and_lines_are_in_its_table(
    scan: Any, tmp_path: Path
) -> None:
    assert discover(tmp_path) is None
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[project]\nname = "x"\ntop = 1\n\n[tool.tokenaudit]\ntz = "UTC"\ntop = 7\n'
        "\n[tool.ruff]\ntop = 2\n"
    )
    found = discover(tmp_path)
    assert found == (pyproject, "tool.tokenaudit")
    loaded = load(scan, pyproject, table=found[1])
    assert loaded.settings["top"].value == 7
    assert loaded.settings["top"].where == f"{pyproject}:7"
    (tmp_path / "tokenaudit.toml").write_text("")
    assert discover(tmp_path) == (tmp_path / "tokenaudit.toml", None)


def test_a_pyproject_without_our_table_is_not_a_settings_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    assert discover(tmp_path) is None


def test_key_line_handles_quotes_tables_and_dotted_headers() -> None:
    text = '[a]\n"fail-on" = 1\n[tool . tokenaudit]\n  \'tz\' = "UTC"\nfail-on = 2\n'
    assert key_line(text, ("a",), "fail-on") == 2
    assert key_line(text, ("tool", "tokenaudit"), "tz") == 4
    assert key_line(text, ("tool", "tokenaudit"), "fail-on") == 5
    assert key_line(text, ("tool", "tokenaudit"), "absent") == 3


def test_effective_settings_round_trip_as_toml(scan: Any, tmp_path: Path) -> None:
    cfg = tmp_path / "tokenaudit.toml"
    cfg.write_text('tz = "Europe/Berlin"\ntop = 3\n')
    loaded = load(scan, cfg)
    values = {p.name: p.default for p in scan.params}
    values.update({"tz": "Europe/Berlin", "top": 4})
    sources = {"tz": "DEFAULT_MAP", "top": "COMMANDLINE"}
    entries = effective(scan.params, values, sources, loaded)
    by_key = {e.key: e for e in entries}
    assert by_key["tz"].source == f"{cfg}:1"
    assert by_key["top"].source == "command line" and by_key["top"].value == 4
    assert by_key["window"].source == "default"
    text = as_toml(entries, loaded)
    parsed = tomllib.loads(text)
    assert parsed["tz"] == "Europe/Berlin" and parsed["top"] == 4 and "quota" not in parsed
    assert "# quota = (not set)" in text


# ----------------------------------------------------------------------------- the CLI

EXAMPLES = Path(__file__).parent / "data" / "audit_trail"


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenaudit.synthetic.simulate import generate_org, write_org

    out = tmp_path_factory.mktemp("settings_org")
    write_org(generate_org(60, 42, 5, 0.1), out / "org")
    (out / "org" / "truth.csv").unlink()
    return out


def invoke(*args: str) -> Any:
    from typer.testing import CliRunner

    from .conftest import CLI_ENV

    return CliRunner(env=CLI_ENV).invoke(app, list(args))


def test_the_example_files_are_valid(scan: Any) -> None:
    loaded = load(scan, EXAMPLES / "tokenaudit.toml")
    assert loaded.settings["fail_on"].value == "new"
    assert loaded.settings["paths"].value[0] == str(EXAMPLES / "exports/usage/")


def test_a_misspelt_key_stops_scan_and_config_with_exit_2(
    org: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(org)
    (org / "tokenaudit.toml").write_text((EXAMPLES / "misspelt.toml").read_text())
    try:
        for command in ("scan", "config"):
            result = invoke(command)
            assert result.exit_code == 2, result.stderr
            assert "tokenaudit.toml:3: unknown key 'fial-on'" in result.stderr
            assert "did you mean 'fail-on'" in result.stderr
            assert result.stderr.startswith("tokenaudit: error: ")
            assert len(result.stderr.strip().splitlines()) == 1, "one line, no usage block"
    finally:
        (org / "tokenaudit.toml").unlink()


def test_the_file_sets_and_the_command_line_wins(
    org: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(org)
    (org / "pyproject.toml").write_text(
        '[tool.tokenaudit]\ninputs = ["org"]\nfail-on = "review"\nformat = "csv"\n'
    )
    try:
        shown = invoke("config", "--top", "3")
        assert shown.exit_code == 0, shown.stderr
        lines = {line.split(" = ")[0]: line for line in shown.stdout.splitlines()}
        assert lines["fail-on"].endswith("# pyproject.toml:3")
        assert lines["top"].startswith("top = 3") and lines["top"].endswith("# command line")
        assert lines["tz"].endswith("# default")
        flagged = invoke("scan")  # fail-on review from the file: the org has flagged accounts
        assert flagged.exit_code == 1 and flagged.stdout.startswith("rank,account,status")
        assert invoke("scan", "--fail-on", "never").exit_code == 0
    finally:
        (org / "pyproject.toml").unlink()


def test_an_explicit_settings_file_that_is_missing_is_exit_66(tmp_path: Path) -> None:
    result = invoke("scan", "--config", str(tmp_path / "none.toml"))
    assert result.exit_code == 66 and "none.toml" in result.stderr
