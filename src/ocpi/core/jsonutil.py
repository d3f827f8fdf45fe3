"""JSON that keeps money and energy exact.

Numbers with a fraction are parsed as ``Decimal`` and written back with their
exact digits (an orjson ``Fragment``), so no amount ever passes through a
binary float on its way through the node.
"""

import json
from decimal import Decimal
from typing import Any

import orjson

from .limits import parse_constant, parse_decimal, parse_int

_decoder = json.JSONDecoder(parse_float=Decimal)
# what a partner sends: numbers the node can keep and write back, or OutOfRange
_request_decoder = json.JSONDecoder(parse_float=parse_decimal, parse_int=parse_int,
                                    parse_constant=parse_constant)


def loads(data: bytes | str) -> Any:
    """Parse JSON; fractional numbers become ``Decimal``."""
    if isinstance(data, bytes | bytearray):
        data = data.decode("utf-8")
    return _decoder.decode(data)


def loads_request(data: bytes) -> Any:
    """Parse a request body: ``ValueError`` when it is not JSON (NaN included),
    ``limits.OutOfRange`` for a number out of range, ``RecursionError`` when
    nested beyond the interpreter's limit."""
    return _request_decoder.decode(data.decode("utf-8"))


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        if not obj.is_finite():
            raise TypeError("non-finite number")
        return orjson.Fragment(str(obj).encode())
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(obj: Any) -> bytes:
    """Serialise to JSON bytes; ``Decimal`` keeps its exact digits."""
    return orjson.dumps(obj, default=_default)
