"""Why an input row was rejected, as a code beside the human reason.

The reason is written for people (`column 'timestamp': not a timestamp '31/02'`) and may change;
the code is for programs (the stderr notes, `inspect`'s grouping, the `--rejects` file's `code`
column) and does not. Every place that rejects a row gives both.
"""

from __future__ import annotations

from enum import StrEnum


class RejectCode(StrEnum):
    # --- the line could not be read into fields (loaders/readers.py)
    TOO_MANY_FIELDS = "too_many_fields"
    TOO_FEW_FIELDS = "too_few_fields"
    #: A line inside a quoted field that runs on and on (a stray `"`): one per physical line.
    UNTERMINATED_QUOTE = "unterminated_quote"
    LINE_TOO_LONG = "line_too_long"
    NOT_UTF8 = "not_utf8"
    BAD_JSON = "bad_json"
    TOO_DEEP = "too_deep"
    NOT_AN_OBJECT = "not_an_object"
    # --- a value could not be used (loaders/canonical.py)
    MISSING_VALUE = "missing_value"
    NO_TOKENS = "no_tokens"
    BAD_TIMESTAMP = "bad_timestamp"
    NO_TIME_ZONE = "no_time_zone"
    AMBIGUOUS_DATE = "ambiguous_date"
    DST_GAP = "dst_gap"
    OUT_OF_RANGE = "out_of_range"
    BAD_DATE = "bad_date"
    BAD_NUMBER = "bad_number"
    NUMBER_TOO_LARGE = "number_too_large"
    NEGATIVE_COUNT = "negative_count"
    IMPLAUSIBLE_COUNT = "implausible_count"
    BAD_BOOLEAN = "bad_boolean"
    #: A JSON object, array or true/false where a name or id belongs.
    NOT_TEXT = "not_text"
    # --- an export's record that does not add up (loaders/exports.py)
    INCONSISTENT_TOTAL = "inconsistent_total"
    # --- set aside while the panel is built (ingest.py, panel.py)
    DUPLICATE_REQUEST = "duplicate_request"
    DUPLICATE_DAY = "duplicate_day"
    STRAY_DATE = "stray_date"
    #: A reason without a code of its own (an adapter's own words).
    OTHER = "other"


class Reason(str):
    """A reject reason that carries its code: `(line, Reason(code, text))` pairs read like the
    `(line, text)` pairs the readers have always given (they compare and sort as their text),
    and `code_of` finds the code again."""

    code: RejectCode

    def __new__(cls, code: RejectCode, text: str) -> Reason:
        made = super().__new__(cls, text)
        made.code = code
        return made

    def __reduce__(self) -> tuple[object, ...]:
        return (Reason, (self.code, str(self)))


def code_of(reason: str) -> RejectCode:
    """The code of a reason (`OTHER` for text that was given none)."""
    return reason.code if isinstance(reason, Reason) else RejectCode.OTHER
