"""The request limits as functions: the boundaries ``docs/security.md`` promises."""

from decimal import Decimal

import pytest

from ocpi.core import jsonutil
from ocpi.core.errors import InvalidParameters
from ocpi.core.limits import Limits, OutOfRange, check_params, check_url


@pytest.mark.parametrize("text", [
    "123456789012345678",  # 18 digits: the fast path
    str(2**63 - 1), str(-2**63), "999999999999999999.5", "1e17", "-1.5E+17",
    "0." + "0" * 99 + "1",  # 100 decimals
])
def test_numbers_within_range_are_kept_exactly(text):
    value = jsonutil.loads_request(f'{{"x": {text}}}'.encode())["x"]
    assert value == (int(text) if text.lstrip("-").isdigit() else Decimal(text))


@pytest.mark.parametrize("text", [
    str(2**63), str(-2**63 - 1), "1" * 30, "1e18", "-1E+18", "1e1000001",
    "1000000000000000000.0", "0." + "0" * 100 + "1",
])
def test_numbers_out_of_range_are_refused(text):
    with pytest.raises(OutOfRange):
        jsonutil.loads_request(f'{{"x": {text}}}'.encode())


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_literals_are_not_json(text):
    with pytest.raises(ValueError, match="not a JSON number"):
        jsonutil.loads_request(f'{{"x": {text}}}'.encode())


def test_request_lines_are_refused_with_their_status():
    limits = Limits()
    assert check_url("/ocpi/cpo/2.2.1/locations/NL/ABC/L1/E1/1", None, b"", limits) is None
    assert check_url("/" + "a" * 2048, None, b"", limits)[0] == 414
    assert check_url("/a" * 17, None, b"", limits)[0] == 400
    assert check_url("/x", None, b"q=" + b"1" * 4095, limits)[0] == 414
    # the raw path counts: percent-escapes make it longer than the decoded one
    assert check_url("/" + " " * 700, b"/" + b"%20" * 700, b"", limits)[0] == 414


def test_url_ids_are_printable_ascii_of_their_length():
    check_params({"country_code": "NL", "party_id": "ABC", "location_id": "L" * 64})
    for params in ({"country_code": "NLD"}, {"party_id": "ABCD"}, {"location_id": "L" * 65},
                   {"session_id": "a\x00b"}, {"session_id": "ß"}, {"evse_uid": ""}):
        with pytest.raises(InvalidParameters, match=next(iter(params))):
            check_params(params)
