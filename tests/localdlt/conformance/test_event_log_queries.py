"""Databricks event-log queries on local storage (localdlt.event_log_sql): the translation of
``event_log(...)`` and of the ``:`` JSON path, and its refusals. No Spark."""

from __future__ import annotations

from pathlib import Path

import pytest

from localdlt import storage as storage_layout
from localdlt.errors import InvalidArgumentError
from localdlt.event_log_sql import translate


def test_event_log_of_another_pipeline_or_an_unknown_table_is_refused(tmp_path: Path) -> None:
    layout = storage_layout.Layout(tmp_path.resolve())
    pipeline_id = storage_layout.pipeline_id(layout)
    with pytest.raises(InvalidArgumentError, match=f"the pipeline of .* has id '{pipeline_id}'"):
        translate("SELECT * FROM event_log('not-this-one')", tmp_path)
    with pytest.raises(InvalidArgumentError, match="no dataset 'nope'"):
        translate("SELECT * FROM event_log(TABLE(nope))", tmp_path)
    assert translate(f"SELECT details:flow_progress.metrics.num_output_rows AS n FROM event_log('{pipeline_id}') e",
                     tmp_path) == [
        "SELECT GET_JSON_OBJECT(details, '$.flow_progress.metrics.num_output_rows') AS n "
        f"FROM delta.`{layout.events}` AS e"]
