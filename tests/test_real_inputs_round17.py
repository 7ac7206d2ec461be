"""Inputs as they come from the wild, round 17: usage and commit exports as people capture them
(several repositories' pull-request lists, field subsets, overlapping report downloads, older
export layouts). Each test is a defect found by running the CLI on such a file, stated as the
behaviour that replaces it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from tokenaudit.cli import app
from tokenaudit.loaders import InputFile, load_input

from .conftest import CLI_ENV, DATA


def scan(*args: str) -> tuple[int, dict[str, Any], str]:
    """`tokenaudit scan … --format json --all`: exit code, report, stderr."""
    result = CliRunner(env=CLI_ENV).invoke(app, ["scan", *args, "--format", "json", "--all"])
    report = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, report, result.stderr


def accounts(report: dict[str, Any], *fields: str) -> dict[str, tuple[Any, ...]]:
    return {a["account"]: tuple(a[f] for f in fields) for a in report["accounts"]}


def usage_of(tmp_path: Path, *names: str) -> Path:
    path = tmp_path / "usage.csv"
    rows = "".join(f"2026-03-02T09:00:00Z,{n},100,50\n" for n in names)
    path.write_text("timestamp,account,input_tokens,output_tokens\n" + rows)
    return path


# --------------------------------------------------------------------------- commits


def test_pull_requests_of_one_number_in_two_repositories_are_two_changes(tmp_path: Path) -> None:
    # `gh pr list -R acme/<repo> --json number,author,mergedAt,additions,deletions,title` per
    # repository: nothing in a list says which repository it is.
    lists = tmp_path / "prs"
    lists.mkdir()
    for repo, hour in (("web", 10), ("api", 11)):
        prs = [
            {
                "number": n,
                "mergedAt": f"2026-03-0{n}T{hour}:00:00Z",
                "author": {"login": "dana"},
                "additions": 30 + n,
                "deletions": 1,
                "title": f"{repo}: change {n}",
            }
            for n in (1, 2, 3)
        ]
        (lists / f"{repo}.json").write_text(json.dumps(prs))
    # The same as a commits CSV that names the repository.
    csv = tmp_path / "commits.csv"
    csv.write_text(
        "merged_at,author,lines_added,lines_deleted,pr_id,repo\n"
        "2026-03-03T10:00:00Z,dana,40,1,5,acme/web\n"
        "2026-03-04T10:00:00Z,dana,50,1,5,acme/api\n"
        # The same pull request listed twice is still one change.
        "2026-03-04T10:00:00Z,dana,50,1,5,acme/api\n"
    )
    usage = usage_of(tmp_path, "dana")
    code, report, err = scan(str(lists), "--usage", str(usage))
    # Before: 3 changes and 99 lines; acme/api's #1–#3 were dropped as repeats of acme/web's.
    assert code == 0, err
    assert accounts(report, "merged_changes", "merged_lines") == {"dana": (6, 198)}
    code, report, err = scan("--commits", str(csv), "--usage", str(usage))
    # Before: 1 change and 41 lines.
    assert code == 0, err
    assert accounts(report, "merged_changes", "merged_lines") == {"dana": (2, 92)}
    # An overlapping second export of one repository still counts each pull request once.
    (lists / "web-again.json").write_text((lists / "web.json").read_text())
    code, report, err = scan(str(lists), "--usage", str(usage))
    assert accounts(report, "merged_changes", "merged_lines") == {"dana": (6, 198)}


def load(path: Path, tmp_path: Path, **kwargs: Any) -> tuple[pl.DataFrame, str, str]:
    loaded = load_input(InputFile(path, path.name), tmp_path, **kwargs)
    assert loaded is not None
    return loaded.frame.collect().sort("_line"), loaded.fmt, loaded.note


def test_gh_pr_list_without_the_number_field_is_a_pull_request_list(tmp_path: Path) -> None:
    path = tmp_path / "prs.json"
    prs = [
        # `gh pr list --state merged --json author,mergedAt,additions,deletions,title`
        {"mergedAt": "2026-03-03T10:00:00Z", "author": {"login": "dana"}, "additions": 5},
        {"mergedAt": "2026-03-04T10:00:00Z", "author": {"login": "dana"}, "additions": 7},
        # … with `url`: the number and repository come from it.
        {
            "mergedAt": "2026-03-05T10:00:00Z",
            "author": {"login": "eli"},
            "additions": 9,
            "url": "https://github.com/acme/web/pull/12",
        },
        {"mergedAt": None, "author": {"login": "eli"}, "additions": 1},
    ]
    path.write_text(json.dumps(prs))
    frame, fmt, note = load(path, tmp_path)
    # Before: read as a canonical file, every `author` (an object) a rejected row.
    assert fmt == "gh-pr-list (json)" and note == "1 pull requests not merged"
    assert frame["_reject"].null_count() == 3
    assert frame["author"].to_list() == ["dana", "dana", "eli"]
    # No number: no key (each row counts); never one `#None` shared by all.
    assert frame["pr_id"].to_list() == [None, None, "acme/web#12"]
    code, report, err = scan("--commits", str(path), "--usage", str(usage_of(tmp_path, "dana")))
    assert code == 0, err
    assert accounts(report, "merged_changes", "merged_lines") == {"dana": (2, 12)}


def test_pages_slurped_into_one_array_are_one_listing(tmp_path: Path) -> None:
    def mr(iid: int, user: str | None) -> dict[str, Any]:
        author = {"username": user} if user else None  # a deleted user
        return {
            "id": 900 + iid,
            "iid": iid,
            "project_id": 7,
            "state": "merged",
            "merged_at": f"2026-03-0{iid}T10:00:00.123Z",
            "author": author,
            "merge_user": {"username": "boss"},
            "title": f"change {iid}",
        }

    path = tmp_path / "mrs.json"
    # `glab api --paginate projects/7/merge_requests | jq -s .`: an array of page arrays.
    path.write_text(json.dumps([[mr(1, "dana"), mr(2, None)], [mr(3, "eli")]]))
    frame, fmt, _ = load(path, tmp_path)
    # Before: exit 65, "cannot tell whether this is usage, commits or identities … (found: no
    # columns)".
    assert fmt == "gitlab-merge-requests (json)"
    assert frame["_line"].to_list() == [1, 2, 3]
    assert frame["author"].to_list() == ["dana", None, "eli"]
    assert frame["_reject"].to_list() == [None, "column 'author': missing required value", None]


# --------------------------------------------------------------------------- usage


def test_cursors_oldest_csv_layout_without_a_kind_column_is_read(tmp_path: Path) -> None:
    path = tmp_path / "usage-events-2026-07-02.csv"
    path.write_text(
        "Date,Model,Input (w/ Cache Write),Input (w/o Cache Write),Cache Read,Output Tokens,"
        "Total Tokens,Cost,Cost to you\n"
        "2026-07-01T10:00:00Z,claude-sonnet-5,5000,3000,40000,1200,49200,$0.50,$0.25\n"
        "2026-07-01T11:00:00Z,gpt-5.6-terra,100,100,0,50,250,Included,-\n"
        "2026-07-02,gpt-5.6-terra,0,100,0,50,999,Included,-\n"
    )
    # Before: exit 65, "missing required column 'account'", with --account too.
    frame, fmt, note = load(path, tmp_path, account="me@acme.example")
    assert fmt == "cursor-usage-csv (csv)"
    assert "kinds not seen before" not in note
    good = frame.filter(pl.col("_reject").is_null())
    assert good["cache_write_tokens"].to_list() == [5000, 100]
    assert good["input_tokens"].to_list() == [3000, 100]
    assert good["cost_usd"].to_list() == [0.5, None]  # the price, not what the plan billed
    loaded = load_input(InputFile(path, path.name), tmp_path, account="me@acme.example")
    assert loaded is not None
    assert [(line, str(why)[:27]) for line, why in loaded.unreadable] == [
        (4, "token columns do not add up")
    ]


EXPORTS = Path(__file__).parent / "data" / "exports"
#: Exports without a request id of their own: reports of account × period, Cursor's events.
UNKEYED = [
    "anthropic_claude_code_analytics.json",
    "anthropic_usage_report.json",
    "openai_usage_completions.json",
    "copilot_users_1_day.ndjson",
    "cursor_usage_events.json",
    "cursor_usage_csv_team.csv",
    "cursor_usage_csv_older.csv",
]


@pytest.mark.parametrize("name", UNKEYED)
def test_a_report_downloaded_twice_counts_once(tmp_path: Path, name: str) -> None:
    once = tmp_path / "once"
    twice = tmp_path / "twice"
    for folder, copies in ((once, 1), (twice, 2)):
        folder.mkdir()
        for i in range(copies):
            (folder / f"{i}-{name}").write_bytes((EXPORTS / name).read_bytes())
    args = ["--commits", str(DATA / "commits_basic.csv"), "--account", "me@acme.example"]
    code, single, err = scan("--usage", str(once), *args)
    assert code == 0, err
    code, double, err = scan("--usage", str(twice), *args)
    assert code == 0, err
    # Before: every token, request and dollar of the report twice.
    fields = ("tokens", "requests", "cost_usd")
    assert accounts(double, *fields) == accounts(single, *fields)
    assert "repeated request ids counted once" in err


def test_overlapping_report_downloads_count_each_identical_row_once(tmp_path: Path) -> None:
    def bucket(day: int, *outputs: int) -> dict[str, Any]:
        results = [{"account_id": "user_x", "model": "m", "output_tokens": n} for n in outputs]
        return {
            "starting_at": f"2026-03-0{day}T00:00:00Z",
            "ending_at": f"2026-03-0{day + 1}T00:00:00Z",
            "results": results,
        }

    def page(*buckets: dict[str, Any]) -> str:
        return json.dumps({"data": list(buckets), "has_more": False, "next_page": None})

    # Monday's download of the 2nd and 3rd; Tuesday's, of the 3rd and 4th.
    (tmp_path / "mon.json").write_text(page(bucket(2, 70), bucket(3, 300)))
    (tmp_path / "tue.json").write_text(page(bucket(3, 300), bucket(4, 50)))
    args = ["--commits", str(DATA / "commits_basic.csv")]
    code, report, err = scan(
        "--usage", str(tmp_path / "mon.json"), "--usage", str(tmp_path / "tue.json"), *args
    )
    assert code == 0, err
    assert accounts(report, "tokens") == {"user_x": (70 + 300 + 50,)}
    # Two rows one file names alike are both kept: the file says they are two.
    (tmp_path / "one.json").write_text(page(bucket(2, 70, 70)))
    code, report, err = scan("--usage", str(tmp_path / "one.json"), *args)
    assert code == 0, err
    assert accounts(report, "tokens") == {"user_x": (140,)}


def test_downloads_filtered_by_project_keep_every_projects_tokens(tmp_path: Path) -> None:
    # OpenAI's usage for one project at a time (`?project_ids=proj_web`, then `proj_api`),
    # grouped by user only: each file gives the same user and day with `project_id` null.
    # Keyed by the fields that name a group, the second file's row was taken for a repeat of
    # the first, and one project's tokens were dropped (6,600 tokens came out as 5,500).
    for project, tokens in (("web", 1000), ("api", 5000)):
        result = {
            "object": "organization.usage.completions.result",
            "input_tokens": tokens,
            "output_tokens": tokens // 10,
            "input_cached_tokens": 0,
            "num_model_requests": 10,
            "project_id": None,
            "user_id": "user-dana",
            "api_key_id": None,
            "model": None,
        }
        page = {
            "object": "page",
            "data": [{"start_time": 1772409600, "end_time": 1772496000, "results": [result]}],
            "has_more": False,
            "next_page": None,
        }
        (tmp_path / f"openai-{project}.json").write_text(json.dumps(page))
    usage = [
        "--usage",
        str(tmp_path / "openai-web.json"),
        "--usage",
        str(tmp_path / "openai-api.json"),
    ]
    code, report, err = scan(*usage, "--commits", str(DATA / "commits_basic.csv"))
    assert code == 0, err
    assert accounts(report, "tokens", "requests") == {"user-dana": (6600, 20)}
    # A period downloaded while it was still running and again when complete counts both:
    # which filter a download had cannot be told from its rows (README says so).


def _one_change(tmp_path: Path, *listings: tuple[str, str]) -> tuple[int, int]:
    """(merged changes, merged lines) of dana with the given commit listings (name, text)."""
    args = []
    for name, text in listings:
        (tmp_path / name).write_text(text)
        args += ["--commits", str(tmp_path / name)]
    code, report, err = scan("--usage", str(usage_of(tmp_path, "dana")), *args)
    assert code == 0, err
    changes, lines = accounts(report, "merged_changes", "merged_lines")["dana"]
    return changes, lines


GH_5 = {
    "number": 5,
    "mergedAt": "2026-03-03T10:00:00Z",
    "author": {"login": "dana"},
    "additions": 40,
    "deletions": 1,
    "title": "feat: ledger",
}
HEADER = "merged_at,author,lines_added,lines_deleted,pr_id"


@pytest.mark.parametrize(
    "listings",
    [
        pytest.param(
            [
                ("gh.json", json.dumps([GH_5])),
                (
                    "squash.csv",
                    f"{HEADER},message\n2026-03-03T10:00:00Z,dana,40,1,#5,feat: ledger (#5)\n",
                ),
            ],
            id="a gh list without url and the squash commits",
        ),
        pytest.param(
            [
                ("mon.json", json.dumps([GH_5 | {"title": "Ledger WIP"}])),
                ("fri.json", json.dumps([GH_5])),
            ],
            id="listed again after its title was edited",
        ),
        pytest.param(
            [
                (
                    "prs.csv",
                    f"{HEADER},repo,message\n2026-03-03T10:00:00Z,dana,40,1,5,acme/web,x\n",
                ),
                (
                    "gh.json",
                    json.dumps(
                        [
                            GH_5
                            | {
                                "url": "https://github.com/acme/web/pull/5",
                                "mergeCommit": {"oid": "0123456789abcdef0123456789abcdef01234567"},
                            }
                        ]
                    ),
                ),
            ],
            id="only one listing knows its merge sha",
        ),
    ],
)
def test_a_pull_request_in_two_listings_is_one_change(
    tmp_path: Path, listings: list[tuple[str, str]]
) -> None:
    assert _one_change(tmp_path, *listings) == (1, 41)


def test_a_revert_in_one_listing_cancels_the_change_another_listing_gives(tmp_path: Path) -> None:
    revert = GH_5 | {
        "number": 6,
        "mergedAt": "2026-03-04T10:00:00Z",
        "additions": 1,
        "deletions": 40,
        "title": 'Revert "feat: ledger"',
    }
    squash = f"{HEADER},message\n2026-03-03T10:00:00Z,dana,40,1,#5,feat: ledger (#5)\n"
    listings = [("gh.json", json.dumps([GH_5, revert])), ("squash.csv", squash)]
    assert _one_change(tmp_path, *listings) == (0, 0)


def test_a_listings_first_page_saved_alone_is_read_with_a_warning(tmp_path: Path) -> None:
    def page(day: int, more: bool) -> dict[str, Any]:
        result = {"user_id": "user-dana", "input_tokens": 1000, "output_tokens": 100}
        bucket = {"start_time": 1772409600 + day * 86400, "end_time": 1772496000 + day * 86400}
        return {
            "object": "page",
            "data": [bucket | {"results": [result]}],
            "has_more": more,
            "next_page": "page_2" if more else None,
        }

    args = ["--commits", str(DATA / "commits_basic.csv")]
    first = tmp_path / "first.json"
    first.write_text(json.dumps(page(0, True)))
    code, report, err = scan("--usage", str(first), *args)
    # It was read as the whole listing, without a word.
    assert code == 0, err
    assert f"warning: {first}: every page in it says more follow" in err
    # Every page of the listing, one per line, the last saying no more follow: no warning.
    whole = tmp_path / "whole.jsonl"
    whole.write_text(json.dumps(page(0, True)) + "\n" + json.dumps(page(1, False)) + "\n")
    code, report, err = scan("--usage", str(whole), *args)
    assert code == 0, err
    assert "more follow" not in err
    assert accounts(report, "tokens") == {"user-dana": (2200,)}
    # ... and so is every page saved in a file of its own.
    pages = tmp_path / "pages"
    pages.mkdir()
    for n, more in ((1, True), (2, False)):
        (pages / f"page-{n}.json").write_text(json.dumps(page(n, more)))
    code, report, err = scan("--usage", str(pages), *args)
    assert code == 0, err
    assert "more follow" not in err
    assert accounts(report, "tokens") == {"user-dana": (2200,)}


@pytest.mark.parametrize(
    ("listing", "expected"),
    [
        pytest.param(
            f"{HEADER},repo\n2026-03-03,dana,40,1,5,acme/web\n2026-03-03,dana,50,1,5,acme/api\n",
            (2, 92),
            id="one number in two repositories on one day",
        ),
        pytest.param(
            "merged_at,author,lines_added,lines_deleted,sha,pr_id,repo\n"
            f"2026-03-03T10:00:00Z,dana,40,1,{'a' * 40},5,acme/web\n"
            f"2026-03-03T11:00:00Z,dana,300,0,{'b' * 40},5,acme/web\n",
            (2, 341),
            id="a row per commit of one pull request",
        ),
    ],
)
def test_different_changes_that_share_a_number_stay_apart(
    tmp_path: Path, listing: str, expected: tuple[int, int]
) -> None:
    assert _one_change(tmp_path, ("commits.csv", listing)) == expected


def test_which_row_of_a_change_is_kept_does_not_depend_on_the_rows_order(tmp_path: Path) -> None:
    rows = [
        "2026-03-03T10:00:00Z,dana,40,1,5,acme/web",
        "2026-03-03T10:00:00Z,dana,300,0,acme/web#5,",
    ]
    header = f"{HEADER},repo\n"
    first = _one_change(tmp_path, ("a.csv", header + "\n".join(rows) + "\n"))
    second = _one_change(tmp_path, ("a.csv", header + "\n".join(reversed(rows)) + "\n"))
    assert first == second == (1, 300)


SHA = "1111111111111111111111111111111111111111"


@pytest.mark.parametrize(
    ("listings", "expected"),
    [
        pytest.param(
            [
                (
                    "k1.csv",
                    f"merged_at,author,lines_added,lines_deleted,sha\n2026-03-03T10:00:00Z,dana,1,0,{SHA}\n",
                ),
                (
                    "k2.csv",
                    f"merged_at,author,lines_added,lines_deleted,sha\n2026-03-03T10:00:02Z,dana,300,0,{SHA}\n",
                ),
            ],
            (1, 300),
            id="the fullest row of one sha is kept, not the earliest",
        ),
        pytest.param(
            [
                (
                    "a.csv",
                    f"merged_at,author,lines_added,lines_deleted,sha\n2026-03-03T10:00:00Z,dana,40,1,{'a' * 40}\n",
                ),
                (
                    "b.csv",
                    f"merged_at,author,lines_added,lines_deleted,sha\n2026-03-03T10:00:00Z,dana,40,1,{'A' * 40}\n",
                ),
            ],
            (1, 41),
            id="a sha in capitals is the same sha",
        ),
        pytest.param(
            [
                (
                    "pr12.csv",
                    f"{HEADER}\n2026-03-01T10:00:00Z,dana,40,1,PR-12\n2026-03-03T10:00:00Z,dana,300,1,PR-12\n",
                ),
            ],
            (2, 342),
            id="an id that names no repository needs the same instant too",
        ),
    ],
)
def test_rows_of_one_change_and_of_two(
    tmp_path: Path, listings: list[tuple[str, str]], expected: tuple[int, int]
) -> None:
    assert _one_change(tmp_path, *listings) == expected


def test_a_revert_of_a_bare_number_leaves_another_authors_change_of_that_number(
    tmp_path: Path,
) -> None:
    listing = (
        f"{HEADER},message\n"
        "2026-03-01T10:00:00Z,erin,40,1,5,fix: api\n"
        "2026-03-03T10:00:00Z,dana,40,1,5,feat: ledger\n"
        '2026-03-04T10:00:00Z,dana,1,40,6,Revert "feat: ledger"\n'
    )
    (tmp_path / "c.csv").write_text(listing)
    usage = usage_of(tmp_path, "dana", "erin")
    code, report, err = scan("--usage", str(usage), "--commits", str(tmp_path / "c.csv"))
    assert code == 0, err
    # Erin's #5 fell with dana's: the revert's change key was the bare number alone.
    got = accounts(report, "merged_changes", "merged_lines")
    assert (got["dana"], got["erin"]) == ((0, 0), (1, 41))
