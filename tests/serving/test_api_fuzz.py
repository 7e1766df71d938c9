"""Property-based fuzzing of every route and parameter (Hypothesis against the ASGI app): never a 5xx.

Parameters and routes come from the app's own OpenAPI document, so a new route or parameter is
fuzzed without touching this file. Values mix the parameter's own kind (dates at the edges of
what Python can represent, numbers far out of range, enum values and near-misses) with arbitrary
text, and a request may carry unknown parameters. Every answer is below 500 and every error
answer has the one error shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders_lakehouse.serving.app import create_app
from orders_lakehouse.serving.settings import Settings


@pytest.fixture(scope="module")
def fuzz_client(gold_storage: Path) -> Iterator[TestClient]:
    with TestClient(
        create_app(Settings(env="dev", storage=gold_storage)), raise_server_exceptions=False
    ) as c:
        yield c


def _spec(gold_storage: Path) -> dict[str, Any]:
    return create_app(Settings(env="dev", storage=gold_storage)).openapi()


offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
edge_datetimes = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)),
    st.sampled_from([datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(1970, 1, 1)]),
)
datetime_text = st.one_of(
    edge_datetimes.map(lambda d: d.isoformat()),
    st.tuples(edge_datetimes, offsets).map(lambda p: p[0].replace(tzinfo=p[1]).isoformat()),
    edge_datetimes.map(lambda d: d.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")),
)
date_text = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
number_text = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30), st.floats(allow_nan=True, allow_infinity=True)
).map(str)
any_text = st.text(min_size=0, max_size=40)


def _value(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    kinds: list[st.SearchStrategy[str]] = [any_text, number_text]
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("format") == "date-time":
            kinds.append(datetime_text)
        if option.get("format") == "date":
            kinds.append(date_text)
        if "enum" in option:
            kinds.append(st.sampled_from([str(v) for v in option["enum"]]))
    return st.one_of(*kinds)


def _requests(spec: dict[str, Any]) -> st.SearchStrategy[tuple[str, dict[str, str]]]:
    per_route = []
    for path, item in spec["paths"].items():
        parameters = item["get"].get("parameters", [])
        query = {p["name"]: _value(p["schema"]) for p in parameters if p["in"] == "query"}
        path_params = [p for p in parameters if p["in"] == "path"]
        route_path = (
            st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=80).map(
                lambda value, path=path, name=path_params[0]["name"]: path.replace(
                    "{" + name + "}", quote(value, safe="")
                )
            )
            if path_params
            else st.just(path)
        )
        params = st.fixed_dictionaries({}, optional=query)
        extra = st.dictionaries(st.sampled_from(["x", "limitt", "since ", "page"]), any_text, max_size=2)
        per_route.append(st.tuples(route_path, params, extra).map(lambda t: (t[0], {**t[1], **t[2]})))
    return st.one_of(*per_route)


def test_every_route_is_fuzzed(gold_storage: Path) -> None:
    # The routes this module reaches: all of them but the dashboard-only config.
    assert len(_spec(gold_storage)["paths"]) == 12


def test_no_input_gives_a_5xx(fuzz_client: TestClient, gold_storage: Path) -> None:
    strategy = _requests(_spec(gold_storage))

    @settings(
        max_examples=400,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(strategy)
    def check(request: tuple[str, dict[str, str]]) -> None:
        path, params = request
        response = fuzz_client.get(path, params=params)
        assert response.status_code < 500, (path, params, response.status_code, response.text[:300])
        if response.status_code >= 400:  # the one error shape, JSON
            assert {"code", "detail"} <= set(response.json()), (path, params, response.text[:300])

    check()
