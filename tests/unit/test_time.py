"""Instant parsing and formatting: what the API accepts and how it answers."""

from datetime import UTC, datetime

import pytest

from chalicelib.domain.time import format_instant, parse_instant

UTC_9 = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("2027-01-31T09:00:00Z", UTC_9, id="Z suffix"),
        pytest.param("2027-01-31T09:00:00z", UTC_9, id="lower-case z"),
        pytest.param("2027-01-31T10:00:00+01:00", UTC_9, id="positive offset converted to UTC"),
        pytest.param("2027-01-31T03:15:00-05:45", UTC_9, id="odd negative offset"),
        pytest.param("2027-01-31T09:00:00.999Z", UTC_9, id="fractions dropped, never rounded up"),
        pytest.param("2027-01-31 09:00:00Z", UTC_9, id="space instead of T"),
        pytest.param("2027-01-31T10:00:00 01:00", UTC_9, id="unencoded '+' from a query string"),
        pytest.param(1801386000, UTC_9, id="integer epoch seconds"),
        pytest.param("1801386000", UTC_9, id="epoch seconds as digits (query strings)"),
    ],
)
def test_accepted_instants(given, expected):
    assert parse_instant(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        pytest.param("2027-01-31T09:00:00", id="no offset: ambiguous, refused"),
        pytest.param("2027-01-31", id="a date is not an instant"),
        pytest.param("tomorrow", id="prose"),
        pytest.param("2027-02-30T09:00:00Z", id="30 February"),
        pytest.param(True, id="a boolean is not epoch seconds"),
        pytest.param(1.5, id="float epoch"),
        pytest.param(10**20, id="epoch out of range"),
        pytest.param(-1, id="before 1970"),
        pytest.param(None, id="null"),
        pytest.param(["2027-01-31T09:00:00Z"], id="array"),
    ],
)
def test_refused_instants(given):
    with pytest.raises(ValueError):
        parse_instant(given)


def test_output_is_utc_z_second_precision():
    assert format_instant(datetime(2027, 1, 31, 10, 0, 0, 123456, tzinfo=UTC)) == "2027-01-31T10:00:00Z"
