"""Inputs as they come from the wild, round 16: real git histories (true merge commits, bots
that push fix-ups, reverts) and vendor exports as real users capture them."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.config import AuditConfig
from tokenaudit.loaders import InputFile, load_input
from tokenaudit.loaders.git import read_repository, repository_input
from tokenaudit.panel import merged_work

MAINTAINER = {"GIT_AUTHOR_NAME": "Mia Maintainer", "GIT_AUTHOR_EMAIL": "mia@acme.example"}
ANA = {"GIT_AUTHOR_NAME": "Ana", "GIT_AUTHOR_EMAIL": "ana@acme.example"}
BOB = {"GIT_AUTHOR_NAME": "Bob", "GIT_AUTHOR_EMAIL": "bob@acme.example"}


def git(repo: Path, *args: str, **env: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    ).stdout


def commit(repo: Path, day: str, message: str, files: dict[str, int], **who: str) -> str:
    for name, lines in files.items():
        (repo / name).write_text("".join(f"{name} {i}\n" for i in range(lines)))
    git(repo, "add", ".")
    stamp = f"{day}T10:00:00Z"
    env = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, **(who or MAINTAINER)}
    git(repo, "commit", "-q", "-m", message, **env)
    return git(repo, "rev-parse", "HEAD").strip()


def merge(repo: Path, day: str, branch: str, subject: str, body: str = "") -> str:
    """A merge commit as GitHub's "Create a merge commit" writes it: authored by whoever
    pressed the button."""
    stamp = f"{day}T12:00:00Z"
    env = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, **MAINTAINER}
    message = ["-m", subject] + (["-m", body] if body else [])
    git(repo, "merge", "-q", "--no-ff", branch, *message, **env)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = tmp_path / "r"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "committer@github.example")
    git(repo, "config", "user.name", "GitHub")
    commit(repo, "2026-03-02", "initial", {"README": 5})
    return repo


def rows_of(frame: pl.DataFrame, sha: str) -> list[tuple[str, str]]:
    return [(r["author"], r["lines_added"]) for r in frame.filter(pl.col("sha") == sha).to_dicts()]


# --------------------------------------------------------------------------- git: merge commits


def test_a_merge_commit_is_credited_to_who_wrote_the_branch_not_to_who_pressed_merge(
    repo: Path,
) -> None:
    git(repo, "checkout", "-q", "-b", "ana/parser")
    commit(repo, "2026-03-03", "parser: tokens", {"parser.py": 60}, **ANA)
    commit(repo, "2026-03-04", "parser: tests", {"test_parser.py": 40}, **ANA)
    git(repo, "checkout", "-q", "main")
    sha = merge(
        repo, "2026-03-05", "ana/parser", "Merge pull request #7 from ana/parser", "Add a parser"
    )
    frame = read_repository(repo, "main")
    # Before: the maintainer was credited with Ana's 100 lines, and Ana with nothing.
    assert rows_of(frame, sha) == [("ana@acme.example", "100")]
    assert frame.filter(pl.col("sha") == sha)["message"].to_list() == ["Add a parser"]
    assert frame.filter(pl.col("sha") == sha)["merged_at"].to_list() == [
        "2026-03-05T12:00:00+00:00"
    ]


def test_a_merge_of_several_authors_shares_the_lines_and_a_merge_bringing_nothing_is_its_own(
    repo: Path,
) -> None:
    git(repo, "checkout", "-q", "-b", "pair")
    commit(repo, "2026-03-03", "one", {"a.py": 30}, **ANA)
    commit(repo, "2026-03-03", "two", {"b.py": 30}, **BOB)
    commit(repo, "2026-03-04", "three", {"c.py": 41}, **ANA)
    git(repo, "checkout", "-q", "main")
    both = merge(repo, "2026-03-05", "pair", "Merge branch 'pair'")
    # A second merge of the same branch brings nothing new: the merger keeps it.
    stamp = {
        "GIT_AUTHOR_DATE": "2026-03-06T12:00:00Z",
        "GIT_COMMITTER_DATE": "2026-03-06T12:00:00Z",
    }
    tree = "HEAD^{tree}"
    again = git(
        repo,
        "commit-tree",
        tree,
        "-p",
        "HEAD",
        "-p",
        "pair~1",
        "-m",
        "Merge again",
        **stamp,
        **MAINTAINER,
    ).strip()
    git(repo, "update-ref", "refs/heads/main", again)
    frame = read_repository(repo, "main")
    assert rows_of(frame, both) == [("ana@acme.example", "51"), ("bob@acme.example", "50")]
    assert frame.filter(pl.col("sha") == both)["message"].unique().to_list() == [
        "Merge branch 'pair'"
    ]
    assert rows_of(frame, again) == [("mia@acme.example", "0")]
    # Every first-parent commit is still one change: the merges are not split or lost.
    assert frame["sha"].n_unique() == int(
        git(repo, "rev-list", "--first-parent", "--count", "main")
    )


def test_a_branch_merged_after_main_moved_on_credits_only_what_it_brings(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature")
    commit(repo, "2026-03-03", "feature work", {"f.py": 20}, **ANA)
    git(repo, "checkout", "-q", "main")
    direct = commit(repo, "2026-03-04", "hotfix on main", {"h.py": 7}, **BOB)
    # The branch catches up with main (Bob's commit comes in through it) and is merged.
    git(repo, "checkout", "-q", "feature")
    git(repo, "merge", "-q", "--no-ff", "main", "-m", "Merge branch 'main' into feature", **ANA)
    commit(repo, "2026-03-05", "feature done", {"g.py": 10}, **ANA)
    git(repo, "checkout", "-q", "main")
    sha = merge(repo, "2026-03-06", "feature", "Merge pull request #9 from ana/feature", "Feature")
    frame = read_repository(repo, "main")
    assert rows_of(frame, direct) == [("bob@acme.example", "7")]
    assert rows_of(frame, sha) == [("ana@acme.example", "30")]


def test_a_bot_that_pushes_a_fix_up_takes_no_share_of_a_persons_change(repo: Path) -> None:
    bot = "pre-commit-ci[bot] <66853113+pre-commit-ci[bot]@users.noreply.github.com>"
    squash = commit(
        repo,
        "2026-03-03",
        f"feat: cache (#3)\n\nCo-authored-by: {bot}\nCo-authored-by: Bob <bob@acme.example>",
        {"cache.py": 90},
        **ANA,
    )
    dependabot = {
        "GIT_AUTHOR_NAME": "dependabot[bot]",
        "GIT_AUTHOR_EMAIL": "49699333+dependabot[bot]@users.noreply.github.com",
    }
    bump = commit(
        repo,
        "2026-03-04",
        "Bump x from 1 to 2 (#4)\n\nCo-authored-by: Ana <ana@acme.example>",
        {"req.txt": 4},
        **dependabot,
    )
    frame = read_repository(repo, "main")
    # Before: pre-commit-ci[bot] took a third of Ana's lines, excluded later as a bot.
    assert rows_of(frame, squash) == [("ana@acme.example", "45"), ("bob@acme.example", "45")]
    # A bot's own change stays the bot's (a person who helped shares it).
    assert rows_of(frame, bump) == [
        ("49699333+dependabot[bot]@users.noreply.github.com", "2"),
        ("ana@acme.example", "2"),
    ]


def test_a_revert_says_which_commit_of_the_history_it_reverts(repo: Path, tmp_path: Path) -> None:
    feature = commit(repo, "2026-03-03", "feat: risky (#5)", {"risky.py": 50}, **ANA)
    git(repo, "checkout", "-q", "-b", "side")
    side = commit(repo, "2026-03-04", "wip", {"wip.py": 10}, **ANA)
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "side", "-m", "Merge branch 'side'", **ANA)
    # The squashed revert: its subject carries the PR number, its body the reverted commit.
    revert = commit(
        repo,
        "2026-03-05",
        f'Revert "feat: risky (#5)" (#6)\n\nThis reverts commit {feature}.',
        {"risky.py": 0},
        **BOB,
    )
    # A commit that reverts a commit of no merged change names nothing of this history.
    other = commit(
        repo, "2026-03-06", f"undo wip\n\nThis reverts commit {side[:10]}.", {"x.py": 5}, **BOB
    )
    frame = read_repository(repo, "main")
    messages = dict(zip(frame["sha"], frame["message"], strict=True))
    # Before: only the subject was read, so no revert of a squash-merged change was recognised.
    assert messages[revert] == f'Revert "feat: risky (#5)" (#6)\nThis reverts commit {feature}.'
    assert messages[other] == "undo wip"
    # So the audit cancels both the change and its revert.
    loaded = load_input(repository_input(repo, "main", tmp_path), tmp_path)
    assert loaded is not None
    credits = merged_work(loaded.frame.collect(), AuditConfig()).credits
    why_not = dict(zip(credits["sha"], credits["why_not"], strict=True))
    assert (why_not[feature], why_not[revert], why_not[other]) == ("reverted", "revert", None)


def test_a_bitbucket_merge_is_titled_by_its_pull_request(repo: Path) -> None:
    git(repo, "checkout", "-q", "-b", "feature/x")
    commit(repo, "2026-03-03", "x", {"x.py": 12}, **ANA)
    git(repo, "checkout", "-q", "main")
    subject = "Merged in feature/x (pull request #4)"
    sha = merge(repo, "2026-03-04", "feature/x", subject, "Add x\n\nApproved-by: Mia")
    frame = read_repository(repo, "main")
    assert frame.filter(pl.col("sha") == sha)["message"].to_list() == ["Add x"]


def test_a_folder_inside_a_work_tree_is_refused_naming_the_top(repo: Path) -> None:
    from tokenaudit.errors import DataError

    (repo / "src").mkdir()
    # Before: "not a git repository", which it is inside of.
    with pytest.raises(
        DataError, match=f"not the top of a git repository: it is inside {re.escape(str(repo))}"
    ):
        read_repository(repo / "src")


# --------------------------------------------------------------------------- pull-request lists


def gh_pr(number: int, login: str, merged: str | None, **extra: object) -> dict[str, object]:
    """One item of `gh pr list --json number,title,state,author,mergedAt,additions,…,url`."""
    return {
        "number": number,
        "title": f"change {number}",
        "state": "MERGED" if merged else "OPEN",
        "author": {"is_bot": False, "login": login, "name": login.title()},
        "mergedAt": merged,
        "additions": 20,
        "deletions": 2,
        "changedFiles": 1,
        "url": f"https://github.com/acme/api/pull/{number}",
        **extra,
    }


def load(path: Path, tmp_path: Path) -> tuple[pl.DataFrame, str]:
    loaded = load_input(InputFile(path, path.name), tmp_path)
    assert loaded is not None
    return loaded.frame.collect().sort("_line"), loaded.note


def test_gh_names_an_app_as_git_and_the_rest_api_do(tmp_path: Path) -> None:
    bot = gh_pr(2, "app/dependabot", "2025-06-02T10:00:00Z")
    bot["author"] = {"is_bot": True, "login": "app/dependabot"}  # gh: no id, no name
    path = tmp_path / "prs.json"
    path.write_text(json.dumps([gh_pr(1, "ana", "2025-06-01T10:00:00Z"), bot]))
    frame, _ = load(path, tmp_path)
    # Before: 'app/dependabot[bot]', a spelling nothing else uses.
    assert frame["author"].to_list() == ["ana", "dependabot[bot]"]


def test_a_pull_request_merged_with_no_merge_time_is_rejected_not_called_unmerged(
    tmp_path: Path,
) -> None:
    merged_no_time = gh_pr(3, "bob", None, state="MERGED")
    go_zero = gh_pr(4, "cy", "0001-01-01T00:00:00Z", state="OPEN")  # gh 1.x's unset time
    path = tmp_path / "prs.json"
    path.write_text(json.dumps([gh_pr(1, "ana", "2025-06-01T10:00:00Z"), merged_no_time, go_zero]))
    frame, note = load(path, tmp_path)
    # Before: #3 was counted among the pull requests "not merged", and Bob's change was lost.
    assert frame["pr_id"].to_list() == ["acme/api#1", "acme/api#3"]
    assert frame["_reject"].to_list() == [None, "column 'merged_at': missing required value"]
    assert note == "1 pull requests not merged"


def test_a_gitlab_merge_request_merged_with_a_null_merged_at_is_rejected(tmp_path: Path) -> None:
    def mr(iid: int, state: str | None, merged: str | None) -> dict[str, object]:
        item = {"id": 900 + iid, "iid": iid, "project_id": 7, "title": "t", "merged_at": merged}
        item |= {"author": {"id": iid, "username": f"dev{iid}"}, "merge_commit_sha": None}
        return item | ({"state": state} if state else {})

    path = tmp_path / "mrs.json"
    items = [
        mr(1, "merged", "2025-06-01T10:00:00.123Z"),
        mr(2, "merged", None),  # merged long ago: GitLab has no time for it
        mr(3, "closed", None),
        mr(4, None, "2025-06-02T10:00:00Z"),  # a hand-made export without states
    ]
    path.write_text(json.dumps(items))
    frame, note = load(path, tmp_path)
    assert frame["pr_id"].to_list() == ["7!1", "7!2", "7!4"]
    assert frame["_reject"].to_list() == [None, "column 'merged_at': missing required value", None]
    assert note == "1 merge requests not merged"


# --------------------------------------------------------------------------- paginated envelopes


EXPORTS = Path(__file__).parent / "data" / "exports"
PAGED = [
    # (a vendor's page, its source, rows one page makes)
    ("anthropic_usage_report.json", "anthropic-usage-report", 4),
    ("openai_usage_completions.json", "openai-usage", 3),
    ("cursor_usage_events.json", "cursor-usage-events", 3),
    ("anthropic_claude_code_analytics.json", "anthropic-claude-code-analytics", 5),
]


@pytest.mark.parametrize(("name", "source", "rows"), PAGED)
def test_pages_written_one_per_line_are_read_as_the_listing_they_make(
    tmp_path: Path, name: str, source: str, rows: int
) -> None:
    page = json.loads((EXPORTS / name).read_text())
    path = tmp_path / "pages.json"
    # `for page …; do curl -s …; echo; done`: two pages and an empty last one, one per line.
    empty = {k: ([] if isinstance(v, list) else v) for k, v in page.items()}
    path.write_text("\n".join(json.dumps(p) for p in (page, page, empty)) + "\n")
    loaded = load_input(InputFile(path, path.name), tmp_path)
    # Before: exit 65, "missing required column 'timestamp' … found: data, has_more, next_page".
    assert loaded is not None and loaded.fmt == f"{source} (ndjson)"
    frame = loaded.frame.collect()
    assert frame.height == 2 * rows and frame["_reject"].null_count() == frame.height
    assert sorted(set(frame["_line"])) == [1, 2]


def test_search_result_pages_one_per_line_and_a_page_item_that_is_no_object(
    tmp_path: Path,
) -> None:
    def item(number: int, login: str) -> dict[str, object]:
        pull = {"html_url": f"https://github.com/acme/api/pull/{number}"}
        pull["merged_at"] = "2025-06-01T10:00:00Z"
        return {"number": number, "title": "t", "user": {"login": login}, "pull_request": pull}

    pages = [
        {"total_count": 3, "incomplete_results": False, "items": [item(1, "ana"), item(2, "bob")]},
        {"total_count": 3, "incomplete_results": False, "items": [item(3, "cy"), "oops"]},
    ]
    path = tmp_path / "search.json"
    path.write_text("\n".join(json.dumps(p) for p in pages) + "\n")
    loaded = load_input(InputFile(path, path.name), tmp_path)
    assert loaded is not None and loaded.fmt == "github-pulls (ndjson)"
    frame = loaded.frame.collect().sort("_line", "pr_id")
    assert frame.filter(pl.col("_reject").is_null())["author"].to_list() == ["ana", "bob", "cy"]
    # The string in page 2 is a rejected record on that page's line, not dropped unsaid.
    assert [(line, str(why)) for line, why in loaded.unreadable] == [(2, "a record is a JSON str")]


# --------------------------------------------------------------------------- usage exports


def test_litellm_spend_logs_from_the_api_as_json_are_read_like_the_csv(tmp_path: Path) -> None:
    # `GET /spend/logs` answers with the table's own names: `startTime`, numbers, a metadata object.
    rows = [
        {
            "request_id": "chatcmpl-1",
            "api_key": "88dc…",
            "spend": 0.41,
            "prompt_tokens": 1200,
            "completion_tokens": 80,
            "startTime": "2025-06-04T08:14:22.511000",
            "endTime": "2025-06-04T08:14:41.093000",
            "model": "claude-opus-4-1",
            "user": "",
            "metadata": {"user_api_key_alias": "dana-laptop"},
            "cache_hit": "False",
        },
        {
            "request_id": "chatcmpl-2",
            "spend": 0.0,
            "prompt_tokens": 1200,
            "completion_tokens": 80,
            "startTime": "2025-06-04T08:15:00Z",
            "model": "claude-opus-4-1",
            "user": "dana@acme.example",
            "cache_hit": True,
        },
    ]
    path = tmp_path / "spend.json"
    path.write_text(json.dumps(rows))
    loaded = load_input(InputFile(path, path.name), tmp_path)
    # Before: exit 65, "missing required column 'timestamp' … found: …, starttime, …".
    assert loaded is not None and loaded.fmt == "litellm-spend-logs (json)"
    frame = loaded.frame.collect()
    assert frame["account"].to_list() == ["dana-laptop"]
    assert frame["timestamp"].cast(pl.String).to_list() == ["2025-06-04 08:14:22.511000+00:00"]
    assert (frame["input_tokens"].item(), frame["output_tokens"].item()) == (1200, 80)
    assert loaded.note == "1 cache-hit rows are not usage"


def openai_page(results: list[dict[str, object]]) -> dict[str, object]:
    bucket = {"object": "bucket", "start_time": 1748995200, "end_time": 1749081600}
    return {"object": "page", "data": [bucket | {"results": results}], "has_more": False}


def test_openai_reports_that_cannot_say_who_used_tokens_are_refused_with_the_fix(
    tmp_path: Path,
) -> None:
    from tokenaudit.errors import RefusedExport

    costs = tmp_path / "costs.json"
    cost = {"object": "organization.costs.result", "amount": {"value": 12.5, "currency": "usd"}}
    costs.write_text(json.dumps(openai_page([cost | {"line_item": None, "project_id": None}])))
    ungrouped = tmp_path / "usage.json"
    usage = {"input_tokens": 900, "output_tokens": 40, "input_cached_tokens": 100}
    usage |= {"num_model_requests": 3, "user_id": None, "api_key_id": None, "project_id": None}
    ungrouped.write_text(json.dumps(openai_page([usage])))
    # Before: read as usage whose every row was rejected, which stopped a whole directory's
    # scan (exit 65, "no usable rows"); now refused, which a scanned directory skips with a note.
    with pytest.raises(RefusedExport, match=r"costs report .*group_by=user_id"):
        load_input(InputFile(costs, costs.name), tmp_path)
    with pytest.raises(RefusedExport, match=r"not grouped by user.*group_by=user_id"):
        load_input(InputFile(ungrouped, ungrouped.name), tmp_path)


def test_an_anthropic_usage_report_without_group_by_is_refused(tmp_path: Path) -> None:
    from tokenaudit.errors import RefusedExport

    page = json.loads((EXPORTS / "anthropic_usage_report.json").read_text())
    for bucket in page["data"]:
        for result in bucket["results"]:
            for key in ("account_id", "api_key_id", "service_account_id", "workspace_id"):
                result[key] = None
    path = tmp_path / "report.json"
    path.write_text(json.dumps(page))
    with pytest.raises(RefusedExport, match=r"group_by\[\]=account_id"):
        load_input(InputFile(path, path.name), tmp_path)


def test_a_codex_rollout_with_only_cumulative_totals_counts_their_growth(tmp_path: Path) -> None:
    def event(second: int, total: dict[str, int] | None) -> dict[str, object]:
        info = None if total is None else {"total_token_usage": total}
        payload = {"type": "token_count", "info": info}
        return {
            "timestamp": f"2025-06-04T13:02:{second:02}Z",
            "type": "event_msg",
            "payload": payload,
        }

    def total(inp: int, cached: int, out: int) -> dict[str, int]:
        return {"input_tokens": inp, "cached_input_tokens": cached, "output_tokens": out}

    lines = [
        {"timestamp": "2025-06-04T13:02:00Z", "type": "session_meta", "payload": {"id": "s1"}},
        {
            "timestamp": "2025-06-04T13:02:01Z",
            "type": "turn_context",
            "payload": {"model": "gpt-5"},
        },
        event(2, None),
        event(3, total(1000, 600, 50)),
        event(4, total(1000, 600, 50)),  # the same total again: no new request
        event(5, total(2500, 1800, 120)),
    ]
    path = tmp_path / "rollout-2025-06-04T13-02-00-s1.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    loaded = load_input(InputFile(path, path.name), tmp_path, account="jun")
    assert loaded is not None and loaded.fmt == "codex-session (ndjson)"
    frame = loaded.frame.collect().sort("_line")
    columns = ("input_tokens", "cache_read_tokens", "output_tokens")
    # Before: both requests were read as 0 tokens (no last_token_usage to read).
    assert frame.select(columns).rows() == [(400, 600, 50), (300, 1200, 70)]


def test_a_bot_fix_up_on_a_merged_branch_takes_no_share_even_when_it_is_the_tip(
    repo: Path,
) -> None:
    # The walk meets the branch's tip first, and a tie of one commit each put the bot first:
    # it took half of Bob's lines (later excluded with the bot).
    bot = {
        "GIT_AUTHOR_NAME": "pre-commit-ci[bot]",
        "GIT_AUTHOR_EMAIL": "66853113+pre-commit-ci[bot]@users.noreply.github.com",
    }
    git(repo, "checkout", "-q", "-b", "lint")
    commit(repo, "2026-03-03", "feat: export", {"e.py": 9}, **BOB)
    commit(repo, "2026-03-03", "[pre-commit.ci] auto fixes", {"e.py": 10}, **bot)
    git(repo, "checkout", "-q", "main")
    sha = merge(repo, "2026-03-04", "lint", "Merge pull request #5 from bob/lint", "Export")
    assert rows_of(read_repository(repo, "main"), sha) == [("bob@acme.example", "10")]
