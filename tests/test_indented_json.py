"""`report.indented` writes what `json.dumps(doc, ensure_ascii=False, allow_nan=False,
indent=2)` writes, byte for byte, and refuses what it refuses (round 7 of the scale work: the
JSON report without the pure-Python encoder)."""

from __future__ import annotations

import json
from collections import OrderedDict
from enum import IntEnum, StrEnum
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenaudit.report.indented import indented


def _dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, allow_nan=False, indent=2)


class _Word(StrEnum):
    QUOTED = 'a "quoted" word'


class _Count(IntEnum):
    THREE = 3


class _Items(list[Any]):
    pass


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_KEYS = (
    st.text()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.booleans()
    | st.none()
)
_DOCS = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.tuples(inner, inner)
        | st.dictionaries(_KEYS, inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(_DOCS)
def test_the_text_is_json_dumps_indented_by_two(doc: Any) -> None:
    assert indented(doc) == _dumps(doc)


@pytest.mark.parametrize(
    "doc",
    [
        {},
        [],
        "",
        {"checks": [], "more": {}, "deeper": [[], {}]},
        [[[[]]]],
        [[[[1]]]],
        {"k": ({"a": 1}, {})},
        {"word": _Word.QUOTED, "count": _Count.THREE, _Count.THREE: "an int key"},
        {"ordered": OrderedDict(a=[1, {"b": []}])},
        [_Items([1, [2]]), {"x": _Items()}],
        {"a": 0, "b": [0], "c": "", "d": [""], "e": "\u2028\x00\u00e9\\"},
        [1e300, -0.0, 1e-7, 123456789012345678901234567890, True, None],
        {"accounts": [{"id": "a", "p": 0.5, "ok": True, "none": None}, {"id": "b"}, {}, [{}]]},
    ],
)
def test_the_text_of_every_shape_the_report_has(doc: Any) -> None:
    assert indented(doc) == _dumps(doc)


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        (float("nan"), ValueError),
        ({"a": [1, {"b": float("inf")}]}, ValueError),
        ({2.5: [float("-inf")]}, ValueError),
        ({"a": object()}, TypeError),
        ({"a": [1, {2, 3}]}, TypeError),
        ({(1, 2): 3}, TypeError),
        ({(1,): [1]}, TypeError),
    ],
)
def test_what_json_refuses_is_refused(doc: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        _dumps(doc)
    with pytest.raises(error):
        indented(doc)
