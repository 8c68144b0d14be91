"""Cursors round-trip their key values and forged cursors are refused."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lfi_shared.http.pagination import decode_cursor, encode_cursor
from lfi_shared.http.problems import InvalidRequest

key_values = st.one_of(
    st.integers(), st.text(max_size=20), st.uuids(),
    st.datetimes(timezones=st.just(UTC)), st.dates(),
)


@given(st.lists(key_values, min_size=1, max_size=3))
def test_cursor_round_trips_key_values(values: list[object]) -> None:
    assert decode_cursor(encode_cursor(values), len(values)) == values


@pytest.mark.parametrize("forged", ["not-base64!!", "e30", encode_cursor([1, 2])])
def test_forged_cursor_is_refused_naming_the_field(forged: str) -> None:
    with pytest.raises(InvalidRequest) as err:
        decode_cursor(forged, 3)
    assert err.value.errors is not None
    assert err.value.errors[0].field == "query.cursor"


def test_cursor_types_survive() -> None:
    when = datetime(2026, 1, 6, 9, 30, tzinfo=UTC)
    ident = uuid.uuid4()
    assert decode_cursor(encode_cursor([when, ident, date(2026, 4, 15)]), 3) == [
        when, ident, date(2026, 4, 15)
    ]
