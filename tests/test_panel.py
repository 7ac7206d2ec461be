"""The account-day panel: follow-up window, censoring at the end of the data, what counts as
merged output."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from tokenaudit.config import AuditConfig
from tokenaudit.panel import (
    HELD_RUN_S,
    MIN_HELD_RUN,
    MIN_REPEAT_RUN,
    auto_window,
    follow_up,
    mark_followed,
    merged_work,
    output_days,
    split_duplicate_requests,
    usage_days,
)

D0 = date(2026, 3, 2)


def days_frame(account: str, offsets: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account": [account] * len(offsets),
            "day": [D0 + timedelta(days=o) for o in offsets],
            "tokens": [1000] * len(offsets),
        }
    )


def outputs_frame(account: str, offsets: list[int]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "account": [account] * len(offsets),
            "day": [D0 + timedelta(days=o) for o in offsets],
            "changes": [1] * len(offsets),
            "lines": [50] * len(offsets),
            "non_output_changes": [0] * len(offsets),
        },
        schema={
            "account": pl.String,
            "day": pl.Date,
            "changes": pl.Int64,
            "lines": pl.Int64,
            "non_output_changes": pl.Int64,
        },
    )


def commits_frame(rows: list[tuple[str, int, int, str | None, str | None]]) -> pl.DataFrame:
    """(author, day offset, lines, sha, message) rows in canonical commit form."""
    return pl.DataFrame(
        {
            "merged_at": [
                datetime(2026, 3, 2, 12, tzinfo=UTC) + timedelta(days=d) for _, d, _, _, _ in rows
            ],
            "author": [a for a, _, _, _, _ in rows],
            "lines_added": [n for _, _, n, _, _ in rows],
            "lines_deleted": [0] * len(rows),
            "sha": [s for _, _, _, s, _ in rows],
            "pr_id": [None] * len(rows),
            "message": [m for _, _, _, _, m in rows],
            "_file": ["c.csv"] * len(rows),
            "_line": list(range(2, len(rows) + 2)),
        },
        schema_overrides={"pr_id": pl.String, "sha": pl.String, "message": pl.String},
    )


def test_a_local_day_that_runs_backwards_keeps_its_requests_and_sessions() -> None:
    # St John's turned its clocks back from 00:01 to 23:01 on 2010-11-07 (02:31 UTC): the
    # local day of one account's requests in time order goes 6th, 7th, 6th, 7th.
    at = [(2, 20, 0), (2, 30, 30), (2, 35, 0), (3, 40, 0)]
    n = len(at)
    rows = pl.DataFrame(
        {
            "account": ["a"] * n,
            "timestamp": [datetime(2010, 11, 7, h, m, s, tzinfo=UTC) for h, m, s in at],
            "input_tokens": [1, 10, 100, 1000],
            "output_tokens": [0] * n,
            "cache_read_tokens": [0] * n,
            "cache_write_tokens": [0] * n,
            "requests": [1] * n,
            "cost_usd": [0.5] * n,
            "_aggregated": [False] * n,
            "_session": [1, 2, 1, 2],
            "request_id": [1, 2, 3, 4],
        },
        schema_overrides={
            "account": pl.Categorical,
            "timestamp": pl.Datetime("us", "UTC"),
            "_session": pl.UInt64,
            "request_id": pl.UInt64,
        },
    )
    days = usage_days(rows, AuditConfig(tz="America/St_Johns")).sort("day")
    assert days.select("day", "tokens", "rows", "burst_starts", "session_gaps").rows() == [
        (date(2010, 11, 6), 101, 2, 2, 1),
        (date(2010, 11, 7), 1010, 2, 2, 1),
    ]
    assert days["gap_mean"].to_list() == [270.0, 630.0]
    # Session 1 (the 6th) runs alone until session 2 (the 7th) starts inside it.
    assert days["max_parallel"].to_list() == [1, 2]


def _identical_requests(account: str, every_s: float, n: int) -> pl.DataFrame:
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    return pl.DataFrame(
        {
            "account": [account] * n,
            "timestamp": [start + timedelta(seconds=every_s * i) for i in range(n)],
            "input_tokens": [5_000] * n,
            "output_tokens": [200] * n,
            "cache_read_tokens": [0] * n,
            "cache_write_tokens": [0] * n,
            "requests": [1] * n,
            "cost_usd": [0.01] * n,
            "_aggregated": [False] * n,
            "_session": [1] * n,
            "request_id": list(range(n)),
        },
        schema_overrides={
            "account": pl.Categorical,
            "timestamp": pl.Datetime("us", "UTC"),
            "_session": pl.UInt64,
            "request_id": pl.UInt64,
        },
    )


@pytest.mark.parametrize("every_s", [30, 300])
def test_identical_requests_count_when_sent_within_minutes_of_each_other(every_s: int) -> None:
    # A loop re-sending one request, as soon as the answer is back or every 5 minutes (every
    # generator of organisations here has loops that wait up to 5 minutes): every pair repeats.
    loop = usage_days(_identical_requests("loop", every_s, 100), AuditConfig())
    assert loop["same_size_pairs"].sum() == 99
    assert loop["same_size_tokens"].sum() == 99 * 5_200  # what the repeats weigh


def test_identical_requests_repeat_back_to_back_when_less_than_six_minutes_apart() -> None:
    # An hour and a half of them: short of what a slower pace needs (`HELD_RUN_S`).
    at_limit = usage_days(_identical_requests("job", 360, 15), AuditConfig())
    just_under = usage_days(_identical_requests("loop", 359.9, 25), AuditConfig())
    assert at_limit["same_size_pairs"].sum() == 0
    assert just_under["same_size_pairs"].sum() == 24


def test_the_same_prompt_held_for_hours_repeats_at_any_pace_and_whatever_the_answer() -> None:
    # A loop paced every 10-20 minutes, its answers sampled at a temperature: one request sent
    # over and over all afternoon. Two hours of it count, from the second request on.
    def paced(n: int) -> pl.DataFrame:
        loop = _identical_requests("loop", 900, n)
        return loop.with_columns(
            (pl.col("timestamp") + pl.duration(seconds=pl.int_range(n) % 3 * 100)),
            (900 + pl.int_range(n) * 37 % 200).alias("output_tokens"),
        )

    assert usage_days(paced(9), AuditConfig())["same_size_pairs"].sum() == 8  # 2 h 3 min
    assert usage_days(paced(8), AuditConfig())["same_size_pairs"].sum() == 0  # 1 h 45 min
    assert MIN_HELD_RUN <= 8 and HELD_RUN_S == 2 * 3600


def test_polls_of_builds_through_the_day_are_no_request_held_at_a_steady_pace() -> None:
    # A script polling one build after another with the same 30k-token prompt: 15 polls 6 minutes
    # apart, then 40 minutes until the next build, all day (a light user's day: nothing else
    # comes between them). Held for seven hours, but in bursts, not at a steady pace.
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    at = [start + timedelta(minutes=124 * (i // 15) + 6 * (i % 15)) for i in range(60)]
    polls = _identical_requests("poll", 360, 60).with_columns(
        pl.Series("timestamp", at, dtype=pl.Datetime("us", "UTC")),
        pl.lit(30_000).alias("input_tokens"),
        (9 + pl.int_range(60) % 3).alias("output_tokens"),
    )
    assert usage_days(polls, AuditConfig())["same_size_pairs"].sum() == 0
    # The same polls with no pause between builds, each sent 6 minutes and a few seconds after
    # the answer to the last, are one request sent over and over.
    steady = polls.with_columns(
        pl.Series("timestamp", [start + timedelta(seconds=367 * i) for i in range(60)])
    )
    assert usage_days(steady, AuditConfig())["same_size_pairs"].sum() == 59


def test_a_request_repeated_a_few_times_and_then_another_is_no_loop() -> None:
    # An eval sampling each question five times (pass@5) with a one-token answer, or a script
    # polling a build a dozen times: the same request again and again, but only a few times in
    # a row before the next. A loop runs its request for hours.
    def sampled(k: int) -> pl.DataFrame:
        return _identical_requests("eval", 2, 600).with_columns(
            (1_500 + pl.int_range(600) // k).alias("input_tokens"), pl.lit(1).alias("output_tokens")
        )

    assert usage_days(sampled(5), AuditConfig())["same_size_pairs"].sum() == 0
    assert usage_days(sampled(MIN_REPEAT_RUN - 1), AuditConfig())["same_size_pairs"].sum() == 0
    runs = 600 // MIN_REPEAT_RUN
    assert usage_days(sampled(MIN_REPEAT_RUN), AuditConfig())["same_size_pairs"].sum() == runs * (
        MIN_REPEAT_RUN - 1
    )


def test_a_job_on_a_wall_clock_schedule_is_no_loop_and_a_loop_sleeping_between_requests_is() -> (
    None
):
    # A job sending the same request every ten minutes on the clock (an honest CI job can; a
    # third family of organisations has them every 10-60 minutes) keeps in step with a cron
    # period: a scheduled job, not a request re-sent. A loop that sleeps ten minutes after each
    # answer drifts off the clock by the time the answer took. Each request is a burst of its
    # own either way.
    job = usage_days(_identical_requests("job", 600, 100), AuditConfig())
    loop = usage_days(_identical_requests("loop", 600 + 23.7, 100), AuditConfig())
    assert job["same_size_pairs"].sum() == 0 and job["burst_starts"].sum() == 100
    assert loop["same_size_pairs"].sum() == 99 and loop["burst_starts"].sum() == 100


def test_a_ping_whose_short_answer_wavers_by_a_token_still_repeats_itself() -> None:
    # "OK" and "OK." from a health check: the same request, answered alike.
    ping = _identical_requests("ping", 60, 100).with_columns(
        (2 + pl.int_range(100) % 2).alias("output_tokens")
    )
    days = usage_days(ping, AuditConfig())
    assert days["same_size_pairs"].sum() == 99


def test_requests_with_prompts_of_different_sizes_are_no_repeats_however_close() -> None:
    # A batch job classifying one item after another with a long few-shot template: every
    # prompt is within 1 % of the one before and every answer one token long, but no request
    # is the same request again. A loop re-sends its prompt as it is.
    batch = _identical_requests("batch", 2, 100).with_columns(
        (10_000 + pl.int_range(100) % 7).alias("input_tokens"),
        pl.lit(1).alias("output_tokens"),
    )
    assert usage_days(batch, AuditConfig())["same_size_pairs"].sum() == 0


def test_a_loop_that_numbers_its_requests_repeats_them_and_a_batch_of_labels_does_not() -> None:
    # A loop whose prompt carries a counter or a time stamp: each prompt a few tokens off the
    # one before, the same long answer every time. A batch job labelling items of nearly one
    # size behind a long template: prompts as close, but a one-token answer to each.
    def drifting(answer: int) -> pl.DataFrame:
        return _identical_requests("loop", 45, 100).with_columns(
            (18_715 + (pl.int_range(100) * 5) % 7).alias("input_tokens"),
            pl.lit(answer).alias("output_tokens"),
        )

    assert usage_days(drifting(1_871), AuditConfig())["same_size_pairs"].sum() == 99
    assert usage_days(drifting(1), AuditConfig())["same_size_pairs"].sum() == 0
    # A conversation's next prompt carries the last answer: it grows by it, and repeats nothing.
    chat = _identical_requests("chat", 45, 100).with_columns(
        (5_000 + 200 * pl.int_range(100)).alias("input_tokens")
    )
    assert usage_days(chat, AuditConfig())["same_size_pairs"].sum() == 0


def test_usage_is_followed_when_merged_work_lands_within_the_window() -> None:
    days = follow_up(
        days_frame("a", [0, 1, 10]),
        outputs_frame("a", [3]),
        merges_known_until=D0 + timedelta(days=30),
    )
    marked = mark_followed(days, window=3, merges_known_until=D0 + timedelta(days=30))
    assert marked["delay_days"].to_list() == [3, 2, None]
    assert marked["followed"].to_list() == [True, True, False]
    assert marked["censored"].to_list() == [False, False, False]


def test_days_whose_window_runs_past_the_data_are_censored_not_barren() -> None:
    end = D0 + timedelta(days=12)
    days = follow_up(days_frame("a", [0, 9, 11]), outputs_frame("a", [11]), merges_known_until=end)
    marked = mark_followed(days, window=5, merges_known_until=end)
    # Day 0: no merge within 5 days, window inside the data → barren.
    # Day 9: merge on day 11 → followed, even though its window runs past the end.
    # Day 11: merge the same day → followed.
    assert marked["followed"].to_list() == [False, True, True]
    assert marked["censored"].to_list() == [False, False, False]
    late = mark_followed(
        follow_up(days_frame("b", [10]), outputs_frame("b", []), end),
        window=5,
        merges_known_until=end,
    )
    assert late["censored"].to_list() == [True]


def test_merges_after_the_known_horizon_do_not_count() -> None:
    days = follow_up(
        days_frame("a", [0]), outputs_frame("a", [20]), merges_known_until=D0 + timedelta(days=10)
    )
    assert days["next_merge_day"].to_list() == [None]


def test_auto_window_is_the_median_accounts_p90_lag_clamped() -> None:
    frames = []
    for i, lag in enumerate([1, 2, 2, 4, 6]):
        offsets = list(range(0, 60, 6))
        d = days_frame(f"u{i}", offsets)
        o = outputs_frame(f"u{i}", [x + lag for x in offsets])
        frames.append(follow_up(d, o, D0 + timedelta(days=90)))
    assert auto_window(pl.concat(frames), AuditConfig()) == 3  # median p90 is 2, clamped to 3
    assert auto_window(pl.concat(frames[:0] or [frames[0].head(0)]), AuditConfig()) == 21


def test_trivial_changes_and_reverts_do_not_count_as_output() -> None:
    commits = commits_frame(
        [
            ("a", 0, 40, "aaaaaaa111", "feat: retries (#1)"),
            ("a", 1, 2, "bbbbbbb222", "chore: typo"),
            ("a", 2, 40, "ccccccc333", 'Revert "feat: retries (#1)"'),
            ("a", 3, 60, "ddddddd444", "feat: export (#2)"),
            ("a", 4, 60, "eeeeeee555", "Revert it\n\nThis reverts commit ddddddd444."),
            ("b", 5, 30, None, "docs"),
            ("b", 5, 30, None, "docs"),
        ]
    )
    work = merged_work(commits, AuditConfig())
    why = work.credits.sort("_line")["why_not"].to_list()
    assert why == ["reverted", "trivial", "revert", "reverted", "revert", None, None]
    out = output_days(work.credits)
    assert out.filter(pl.col("account") == "a")["changes"].sum() == 0
    # Rows without a sha or PR id cannot be told apart from distinct changes: both are kept.
    assert out.filter(pl.col("account") == "b")["changes"].sum() == 2


def test_a_squash_merged_revert_finds_its_change_whatever_pull_request_numbers_follow() -> None:
    # GitHub squash merges append the pull request's number to both titles: the revert of
    # "chore: bump (#27650)" is 'Revert "chore: bump" (#27709)' or 'Revert "chore: bump (#27650)"
    # (#27709)', and neither names the commit it reverts.
    commits = commits_frame(
        [
            ("a", 0, 40, "aaaaaaa111", "chore: bump (#27650)"),
            ("a", 1, 40, "bbbbbbb222", 'Revert "chore: bump" (#27709)'),
            ("a", 2, 40, "ccccccc333", "feat: cache (#27711)"),
            ("a", 3, 40, "ddddddd444", 'Revert "feat: cache (#27711)" (#27720)'),
            ("a", 4, 40, "eeeeeee555", "feat: keep (#27721)"),
        ]
    )
    work = merged_work(commits, AuditConfig())
    why = work.credits.sort("_line")["why_not"].to_list()
    assert why == ["reverted", "revert", "reverted", "revert", None]


def test_a_squash_body_listing_a_reverted_commit_does_not_make_the_pull_request_a_revert() -> None:
    # GitHub's squash body lists the branch's commits; one of them reverting an earlier change
    # made the whole feature "a revert" (400 lines of output gone). The title decides.
    commits = commits_frame(
        [
            ("tom", 0, 30, "aaaaaaa111", "fix: flaky test (#45)"),
            (
                "bob",
                1,
                400,
                "bbbbbbb222",
                "feat: dashboard (#50)\n\n* wip\n* This reverts commit aaaaaaa111.",
            ),
            ("bob", 2, 40, "ccccccc333", "Revert the retry\n\nThis reverts commit bbbbbbb222."),
        ]
    )
    why = merged_work(commits, AuditConfig()).credits.sort("_line")["why_not"].to_list()
    assert why == [None, "reverted", "revert"]


def test_reverting_a_change_credited_to_two_people_cancels_both_shares() -> None:
    commits = commits_frame(
        [
            ("ana", 0, 40, "aaaaaaa111", "feat: sync (#1)"),
            ("bob", 0, 40, "aaaaaaa111", "feat: sync (#1)"),
            ("cy", 1, 80, "bbbbbbb222", 'Revert "feat: sync (#1)" (#2)'),
        ]
    )
    why = merged_work(commits, AuditConfig()).credits.sort("_line")["why_not"].to_list()
    assert why == ["reverted", "reverted", "revert"]


def test_a_revert_quoting_a_title_with_its_number_finds_that_change_not_a_namesake() -> None:
    commits = commits_frame(
        [
            ("ana", 0, 40, "aaaaaaa111", "Update README.md (#100)"),
            ("bob", 1, 40, "bbbbbbb222", "Update README.md (#200)"),
            ("cy", 2, 40, "ccccccc333", 'Revert "Update README.md (#100)" (#201)'),
        ]
    )
    why = merged_work(commits, AuditConfig()).credits.sort("_line")["why_not"].to_list()
    assert why == ["reverted", None, "revert"]


def test_the_same_change_listed_twice_is_one_credit() -> None:
    commits = commits_frame(
        [("a", 0, 40, "aaaaaaa111", "feat"), ("a", 0, 40, "aaaaaaa111", "feat")]
    )
    assert merged_work(commits, AuditConfig()).credits.height == 1


def test_a_repeated_request_id_counts_once_keeping_the_fullest_row() -> None:
    usage = pl.DataFrame(
        {
            "account": ["a"] * 5 + ["b"],
            "request_id": ["r1", "r1", "r2", None, None, "r1"],
            "input_tokens": [10, 10, 5, 1, 1, 7],
            "output_tokens": [3, 263, 5, 1, 1, 7],
            "cache_read_tokens": [0] * 6,
            "cache_write_tokens": [0] * 6,
            "_file": ["u.csv"] * 6,
            "_line": [2, 3, 4, 5, 6, 7],
        }
    )
    kept, dropped = split_duplicate_requests(usage)
    kept = kept.sort("_line")
    # Another account's request with the same id is its own request (line 7).
    assert kept["_line"].to_list() == [3, 4, 5, 6, 7]
    assert kept["output_tokens"].to_list() == [263, 5, 1, 1, 7]
    assert dropped.rows() == [
        ("u.csv", 2, "column 'request_id': duplicate of the row kept at u.csv:3")
    ]


def test_leave_and_onboarding_never_count_against_anyone() -> None:
    from tokenaudit.panel import mark_interruptions

    cfg = AuditConfig()
    veteran = days_frame("vet", [0, 1, 2, 3, 14, 15])  # 10 days away after day 3
    joiner = days_frame("new", [30, 31, 40, 60, 61])  # first seen a month after the data starts
    days = pl.concat([veteran, joiner])
    marked = mark_interruptions(
        follow_up(days, outputs_frame("x", []), D0 + timedelta(days=90)), 5, D0, cfg
    )
    marked = mark_followed(marked, 5, D0 + timedelta(days=90)).sort("account", "day")
    vet = marked.filter(pl.col("account") == "vet")
    assert vet["interrupted"].to_list() == [True, True, True, True, False, False]
    assert vet["censored"].to_list() == [True, True, True, True, False, False]
    new = marked.filter(pl.col("account") == "new")
    assert new["onboarding"].to_list() == [True, True, True, False, False]
    assert new["censored"].to_list()[:3] == [True, True, True]


def test_roles_big_enough_are_cohorts_and_small_ones_back_off_to_the_organisation() -> None:
    from tokenaudit.audit import ORGANISATION, assign_cohorts

    accounts = pl.DataFrame(
        {
            "account": [f"a{i}" for i in range(25)],
            "role": ["engineer"] * 12 + ["Research"] * 10 + ["lead"] * 3,
        }
    )
    cohorts = dict(assign_cohorts(accounts, AuditConfig()).iter_rows())
    assert cohorts["a0"] == "role engineer"
    assert cohorts["a15"] == "role research"
    assert cohorts["a24"] == ORGANISATION
