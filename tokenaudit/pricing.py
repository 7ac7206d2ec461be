"""Cost where the logs give none: each usage row priced by its model's list prices.

Tokens of different models and kinds are not comparable (an Opus output token costs 250 Haiku
cache reads), so a row without `cost_usd` is priced from a dated table shipped with the package
(`data/prices.toml`; `--prices FILE` replaces or adds models):

    cost = (input·p_input + output·p_output + cache_read·p_cache_read
            + (cache_write − cache_write_1h)·p_cache_write_5m + cache_write_1h·p_cache_write_1h) / 10⁶

`cache_write_tokens` is every cache write; the optional `cache_write_1h_tokens` says how many of
them were 1-hour writes (Anthropic bills those at 2× input, 5-minute ones at 1.25×). Without it
every write is priced as a 5-minute write, the cheaper side.

A row whose model has no price (or no model) keeps a null cost: it is counted and named
(`unpriced_models`), never priced at zero in silence. A row with its own `cost_usd` keeps it.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field, fields
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Final, TypeVar

import polars as pl

from tokenaudit.errors import DataError, InputMissingError
from tokenaudit.sidefiles import read_side_file

#: The optional canonical column of 1-hour cache writes (a part of `cache_write_tokens`).
CACHE_WRITE_1H: Final = "cache_write_1h_tokens"
_TOKENS: Final = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
#: Model spellings that name the same prices: provider prefixes (Bedrock's `us.anthropic.`,
#: OpenRouter's `anthropic/`), Vertex's `@date`, Bedrock's `-v1:0`, a context tag `[1m]`,
#: `-latest`, and a release date.
_PREFIX: Final = r"^(?:[a-z]{2}\.)?(?:anthropic|openai|azure)[./]"
_SUFFIXES: Final = (
    r"\[[^\]]*\]$",
    r"@.*$",
    r"-v\d+(?::\d+)?$",
    r":\d+$",
    r"-latest$",
    r"-\d{8}$",
    r"-\d{4}-\d{2}-\d{2}$",
)

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens."""

    input: float
    output: float
    cache_read: float
    cache_write_5m: float
    cache_write_1h: float


@dataclass(frozen=True)
class PriceTable:
    as_of: date
    models: dict[str, ModelPrice]
    #: Where the prices came from: "shipped", or the override file's name.
    source: str = "shipped"
    #: Models an override file replaced or added.
    overridden: tuple[str, ...] = field(default=())

    def describe(self) -> str:
        """ "prices as of 2026-11-30" (and the override, if any): for reports and notes."""
        text = f"prices as of {self.as_of.isoformat()}"
        if self.overridden:
            text += f" ({len(self.overridden)} models from {self.source})"
        return text


def normalise_model(name: str) -> str:
    """The price-table key of a model name (see `_PREFIX` and `_SUFFIXES`)."""
    key = re.sub(_PREFIX, "", name.strip().lower())
    for pattern in _SUFFIXES:
        key = re.sub(pattern, "", key)
    return key


def _model_key(column: str = "model") -> pl.Expr:
    expr = pl.col(column).str.strip_chars().str.to_lowercase().str.replace(_PREFIX, "")
    for pattern in _SUFFIXES:
        expr = expr.str.replace(pattern, "")
    return expr


def _rates(frame: pl.DataFrame | pl.LazyFrame, table: PriceTable) -> dict[str, pl.Expr]:
    """Per price field, the row's rate by its model (null for a model without a price).

    A collected frame names a few models millions of times: the key (eight regular expressions)
    is worked out for each distinct name only, and the rates looked up by the name as written.
    A lazy frame cannot know its names before it is read, so each row's key is computed, once.
    """
    price_fields = [f.name for f in fields(ModelPrice)]
    if isinstance(frame, pl.DataFrame):
        names = frame.select(pl.col("model").unique().drop_nulls().cast(pl.String))
        keys = names.with_columns(_model_key().alias("_key"))
        return {
            name: pl.col("model").replace_strict(
                {
                    raw: getattr(table.models[key], name)
                    for raw, key in keys.iter_rows()
                    if key in table.models
                },
                default=None,
                return_dtype=pl.Float64,
            )
            for name in price_fields
        }
    key = _model_key()
    return {
        name: key.replace_strict(
            {m: getattr(p, name) for m, p in table.models.items()},
            default=None,
            return_dtype=pl.Float64,
        )
        for name in price_fields
    }


def _parse(doc: dict[str, Any], where: str) -> tuple[date | None, dict[str, ModelPrice]]:
    names = [f.name for f in fields(ModelPrice)]
    models: dict[str, ModelPrice] = {}
    raw = doc.get("models", {})
    if not isinstance(raw, dict):
        raise DataError(where, "'models' must be a table of model → prices")
    for model, prices in sorted(raw.items()):
        if not isinstance(prices, dict):
            raise DataError(where, f"model {model!r}: expected a table of prices")
        missing = [n for n in names if n not in prices]
        bad = [n for n in names if n in prices and not _price(prices[n])]
        if missing or bad:
            what = f"missing {', '.join(missing)}" if missing else f"not a price: {', '.join(bad)}"
            raise DataError(where, f"model {model!r}: {what} (USD per million tokens, ≥ 0)")
        models[normalise_model(model)] = ModelPrice(*(float(prices[n]) for n in names))
    as_of = doc.get("as_of")
    try:
        day = date.fromisoformat(str(as_of)) if as_of is not None else None
    except ValueError:
        raise DataError(where, f"as_of {as_of!r} is not a date (YYYY-MM-DD)") from None
    return day, models


def _price(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value < 1e6


def shipped_prices() -> PriceTable:
    """The table in `tokenaudit/data/prices.toml`."""
    text = resources.files("tokenaudit").joinpath("data/prices.toml").read_text(encoding="utf-8")
    as_of, models = _parse(tomllib.loads(text), "tokenaudit/data/prices.toml")
    assert as_of is not None  # the shipped file is dated (tests/test_pricing.py)
    return PriceTable(as_of, models)


def load_prices(path: Path | None = None) -> PriceTable:
    """The shipped table, with the models of `path` (TOML, or JSON of the same shape) replacing
    or adding to it. The override's `as_of`, when it has one, dates the table."""
    base = shipped_prices()
    if path is None:
        return base
    try:
        text = read_side_file(path, "the price file").decode("utf-8")
    except FileNotFoundError:
        raise InputMissingError(str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputMissingError(str(path), f"cannot read the price file ({exc})") from None
    try:
        doc = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DataError(str(path), f"not a price file: {exc}") from None
    except RecursionError:
        raise DataError(str(path), "not a price file: nested too deep") from None
    if not isinstance(doc, dict):
        raise DataError(str(path), "not a price file: expected a table with 'models'")
    as_of, models = _parse(doc, str(path))
    return PriceTable(
        as_of or base.as_of,
        {**base.models, **models},
        source=path.name,
        overridden=tuple(sorted(models)),
    )


def price_usage(frame: Frame, table: PriceTable) -> Frame:
    """Fill a null `cost_usd` from `table` by the row's `model`; see the module docstring.

    Rows of unknown models keep a null cost. Missing token columns count as zero; a frame
    without `model` (or `cost_usd`) is returned with the column added (all unpriced)."""
    names = frame.collect_schema().names()
    if "model" not in names:
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("model"))
    if "cost_usd" not in names:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias("cost_usd"))
    rates = _rates(frame, table)

    def tokens(column: str) -> pl.Expr:
        if column in names:
            return pl.col(column).cast(pl.Float64).fill_null(0.0)
        return pl.lit(0.0)

    one_hour = pl.min_horizontal(tokens(CACHE_WRITE_1H), tokens("cache_write_tokens"))
    computed = (
        tokens("input_tokens") * rates["input"]
        + tokens("output_tokens") * rates["output"]
        + tokens("cache_read_tokens") * rates["cache_read"]
        + (tokens("cache_write_tokens") - one_hour) * rates["cache_write_5m"]
        + one_hour * rates["cache_write_1h"]
    ) / 1e6
    return frame.with_columns(pl.coalesce(pl.col("cost_usd"), computed).alias("cost_usd"))


UNPRICED_SCHEMA: Final[dict[str, pl.DataType]] = {
    "model": pl.String(),
    "rows": pl.Int64(),
    "tokens": pl.Int64(),
}


def unpriced_models(frame: pl.DataFrame | pl.LazyFrame, table: PriceTable) -> pl.DataFrame:
    """Models of the rows that have no `cost_usd` and no price in `table` (null model: "(none)"),
    with their rows and tokens, most tokens first. Empty when every row has a cost."""
    priced = price_usage(frame.lazy(), table)
    names = priced.collect_schema().names()
    total = pl.sum_horizontal(
        *(pl.col(c).fill_null(0) for c in _TOKENS if c in names), pl.lit(0, dtype=pl.Int64)
    )
    out = (
        priced.filter(pl.col("cost_usd").is_null())
        .group_by(pl.col("model").fill_null("(none)"))
        .agg(pl.len().cast(pl.Int64).alias("rows"), total.sum().cast(pl.Int64).alias("tokens"))
        .collect()
    )
    return out.sort(["tokens", "model"], descending=[True, False]).select(
        pl.col(c).cast(t) for c, t in UNPRICED_SCHEMA.items()
    )


#: The column `mark_unpriced` adds: the model ("(none)" when the row names none) of a row that
#: has no cost after pricing, null on every priced row.
UNPRICED: Final = "_unpriced"


def mark_unpriced(frame: Frame) -> Frame:
    """`UNPRICED` beside `price_usage`'s result: lets the rows be narrowed (their `model`
    dropped) and still be counted by `count_unpriced` after validation and de-duplication."""
    none = pl.lit("(none)", dtype=pl.String)
    model = pl.col("model").fill_null(none) if "model" in frame.collect_schema() else none
    return frame.with_columns(
        pl.when(pl.col("cost_usd").is_null()).then(model).cast(pl.String).alias(UNPRICED)
    )


def count_unpriced(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """`UNPRICED_SCHEMA` over frames marked by `mark_unpriced` (parts of one input, each counted
    once), most tokens first: what `unpriced_models` gives for the rows they hold."""
    total = pl.sum_horizontal(*(pl.col(c).fill_null(0) for c in _TOKENS))
    parts = [
        f.filter(pl.col(UNPRICED).is_not_null())
        .group_by(pl.col(UNPRICED).alias("model"))
        .agg(pl.len().cast(pl.Int64).alias("rows"), total.sum().cast(pl.Int64).alias("tokens"))
        for f in frames
    ]
    if not parts:
        return pl.DataFrame(schema=UNPRICED_SCHEMA)
    out = pl.concat(parts).group_by("model").agg(pl.col("rows").sum(), pl.col("tokens").sum())
    return out.sort(["tokens", "model"], descending=[True, False]).select(
        pl.col(c).cast(t) for c, t in UNPRICED_SCHEMA.items()
    )


def unpriced_note(unpriced: pl.DataFrame, table: PriceTable | str, *, shown: int = 5) -> str | None:
    """The stderr line about `unpriced_models` (None when there are none); `table` is the table
    or its `describe()`. Model names are data: the caller sanitises the line like every other
    note."""
    if unpriced.is_empty():
        return None
    described = table if isinstance(table, str) else table.describe()
    named = ", ".join(
        f"{m} ({r:,} rows, {t:,} tokens)"
        for m, r, t in unpriced.head(shown).select("model", "rows", "tokens").iter_rows()
    )
    more = f", … ({unpriced.height - shown} more)" if unpriced.height > shown else ""
    return (
        f"warning: {int(unpriced['rows'].sum()):,} usage rows of {unpriced.height} model(s) have "
        f"no cost and no price ({described}): {named}{more}; their cost is unknown, not "
        "zero (--prices FILE adds prices)"
    )
