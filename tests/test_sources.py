"""Which files inside a scanned directory are logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenaudit.loaders.sources import not_a_log


@pytest.mark.parametrize(
    "name", ["_SUCCESS", "_committed_1234", "_started_1234", ".part-0000.parquet.crc"]
)
def test_spark_markers_beside_part_files_are_not_logs(name: str) -> None:
    assert not_a_log(Path("panel") / name) is not None


@pytest.mark.parametrize(
    "name", ["part-00000-abc.snappy.parquet", "usage.txt", "usage.csv", "export.json"]
)
def test_data_files_are_read_by_content_whatever_their_name(name: str) -> None:
    # A `.txt` may be Excel's "Unicode Text" export of usage: its content decides.
    assert not_a_log(Path("exports") / name) is None
