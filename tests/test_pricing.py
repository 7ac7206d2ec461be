"""Cost from the shipped, dated price table: hand-computed costs (1-hour cache writes included),
logged costs kept, unknown models named and never priced at zero, overrides."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest

from tokenaudit.errors import DataError, InputMissingError
from tokenaudit.pricing import (
    CACHE_WRITE_1H,
    load_prices,
    normalise_model,
    price_usage,
    shipped_prices,
    unpriced_models,
    unpriced_note,
)

SCHEMA = {
    "model": pl.String,
    "input_tokens": pl.Int64,
    "output_tokens": pl.Int64,
    "cache_read_tokens": pl.Int64,
    "cache_write_tokens": pl.Int64,
    CACHE_WRITE_1H: pl.Int64,
    "cost_usd": pl.Float64,
}


def _usage(*rows: tuple[object, ...]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=SCHEMA, orient="row")


def test_the_shipped_table_is_dated_and_complete() -> None:
    table = shipped_prices()
    assert table.as_of == date(2026, 11, 30)
    assert table.describe() == "prices as of 2026-11-30"
    assert {"claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5", "gpt-5.4"} <= set(
        table.models
    )
    for model, p in table.models.items():
        assert p.input > 0 and p.output > p.input and p.cache_read < p.input, model
        assert p.cache_write_1h >= p.cache_write_5m >= p.input, model
        if model.startswith("claude"):
            # Anthropic: 5-minute writes 1.25× input, 1-hour writes 2×, reads 0.1× (3 Haiku: 0.12×).
            assert p.cache_write_5m == pytest.approx(1.25 * p.input, rel=0.21), model
            assert p.cache_write_1h == pytest.approx(2 * p.input), model


def test_costs_by_hand() -> None:
    priced = price_usage(
        _usage(
            # Sonnet 4.5: 1000·3 + 100·15 + 10000·0.30 + 1500·3.75 + 500·6 = 16125 µ$
            ("claude-sonnet-4-5-20250929", 1000, 100, 10_000, 2000, 500, None),
            # The same without the 1-hour split: every write at the 5-minute price.
            ("claude-sonnet-4-5", 1000, 100, 10_000, 2000, None, None),
            # Opus 4.1 on Bedrock: 1000·15 + 1000·75 = 90000 µ$
            ("us.anthropic.claude-opus-4-1-20250805-v1:0", 1000, 1000, 0, 0, 0, None),
            # GPT-5.4 mini: 10⁶·0.75 + 10⁶·0.075 (cached input) = $0.825
            ("gpt-5.4-mini-2026-03-17", 1_000_000, 0, 1_000_000, 0, 0, None),
            # A logged cost is kept, whatever the table says.
            ("claude-sonnet-4-5", 10**6, 0, 0, 0, 0, 1.23),
            # Unknown and missing models stay unpriced: null, never zero.
            ("mystery-model-9", 10, 10, 0, 0, 0, None),
            (None, 10, 0, 0, 0, 0, None),
        ),
        load_prices(),
    )
    cost = priced["cost_usd"].to_list()
    assert cost[0] == pytest.approx(0.016125)
    assert cost[1] == pytest.approx((1000 * 3 + 100 * 15 + 10_000 * 0.3 + 2000 * 3.75) / 1e6)
    assert cost[2] == pytest.approx(0.09)
    assert cost[3] == pytest.approx(0.825)
    assert cost[4] == 1.23
    assert cost[5] is None and cost[6] is None


def test_a_lazy_frame_without_the_optional_columns_is_priced_too() -> None:
    frame = pl.LazyFrame({"model": ["claude-haiku-4-5"], "output_tokens": [2_000_000]})
    out = price_usage(frame, load_prices()).collect()
    assert out["cost_usd"].to_list() == [pytest.approx(10.0)]


def test_unknown_models_are_counted_and_named() -> None:
    table = load_prices()
    usage = _usage(
        ("mystery-model-9", 100, 0, 0, 0, 0, None),
        ("mystery-model-9", 100, 50, 0, 0, 0, None),
        ("mystery-model-9", 100, 50, 0, 0, 0, 0.5),  # has its own cost: not unpriced
        ("claude-sonnet-4-5", 100, 0, 0, 0, 0, None),
        (None, 7, 0, 0, 0, 0, None),
    )
    unpriced = unpriced_models(usage, table)
    assert unpriced.rows() == [("mystery-model-9", 2, 250), ("(none)", 1, 7)]
    note = unpriced_note(unpriced, table)
    assert note is not None
    assert note.startswith("warning: 3 usage rows of 2 model(s) have no cost and no price")
    assert "mystery-model-9 (2 rows, 250 tokens)" in note and "not zero" in note
    assert unpriced_note(unpriced_models(usage.head(0), table), table) is None


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("Claude-Opus-4-1", "claude-opus-4-1"),
        ("anthropic/claude-haiku-4-5", "claude-haiku-4-5"),
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-6[1m]", "claude-sonnet-4-6"),
        ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
        ("openai/gpt-5.4-2026-03-05", "gpt-5.4"),
        ("gpt-5.4-mini", "gpt-5.4-mini"),
    ],
)
def test_model_spellings(name: str, key: str) -> None:
    assert normalise_model(name) == key
    frame = pl.DataFrame({"model": [name], "input_tokens": [10**6]})
    assert price_usage(frame, load_prices())["cost_usd"].item() is not None


def test_an_override_file_replaces_and_adds_models(tmp_path: Path) -> None:
    toml = tmp_path / "prices.toml"
    toml.write_text(
        'as_of = "2027-01-15"\n'
        '[models."claude-sonnet-4-5"]\ninput = 1\noutput = 2\ncache_read = 0.1\n'
        "cache_write_5m = 1.25\ncache_write_1h = 2\n"
        '[models."in-house-7b"]\ninput = 0.01\noutput = 0.02\ncache_read = 0\n'
        "cache_write_5m = 0.01\ncache_write_1h = 0.01\n",
        encoding="utf-8",
    )
    table = load_prices(toml)
    assert table.describe() == "prices as of 2027-01-15 (2 models from prices.toml)"
    assert table.models["claude-sonnet-4-5"].input == 1.0
    assert table.models["claude-opus-4-1"].input == 15.0  # the rest of the shipped table
    usage = _usage(("in-house-7b", 10**6, 10**6, 0, 0, 0, None))
    assert price_usage(usage, table)["cost_usd"].item() == pytest.approx(0.03)
    js = tmp_path / "prices.json"
    js.write_text(
        '{"models": {"x": {"input": 1, "output": 1, "cache_read": 1, '
        '"cache_write_5m": 1, "cache_write_1h": 1}}}',
        encoding="utf-8",
    )
    assert load_prices(js).as_of == date(2026, 11, 30) and "x" in load_prices(js).models


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[models."m"]\ninput = 1\n', "missing output"),
        (
            '[models."m"]\ninput = -1\noutput = 1\ncache_read = 1\ncache_write_5m = 1\ncache_write_1h = 1\n',
            "not a price: input",
        ),
        ('as_of = "soon"\n', "not a date"),
        ("models = 3\n", "'models' must be a table"),
        ("[[[", "not a price file"),
    ],
)
def test_a_bad_override_file_is_a_data_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prices.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        load_prices(path)


def test_a_missing_override_file_is_input_missing(tmp_path: Path) -> None:
    with pytest.raises(InputMissingError):
        load_prices(tmp_path / "nope.toml")
