"""Explicit nulls: every optional field of a version present, for partners that need it.

Some partners type the specification's optional fields as required but
nullable: the seed tutorials' library (elumobility/ocpi-python) refuses a
Session without ``end_date_time``, a Location without ``state`` or
``energy_mix`` and credentials without ``website``, yet takes ``null`` for
each. For a partner whose profile says ``explicit_nulls`` our objects are
completed from the version's schema (``modules/*/schemas.py``, the
credentials schema), recursively into nested objects and lists of objects.

A list we have no value for goes as ``[]``, not ``null``: that library gives
its lists a ``[]`` default and refuses ``null`` there (an empty list is also
what it writes itself). It types two lists as one object, EVSE
``status_schedule`` and EnergyMix ``environ_impact``: those go as ``null``,
the only empty value it takes for them.
"""

import functools
import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from . import credentials

NULL_LISTS = frozenset({"status_schedule", "environ_impact"})


@dataclass(frozen=True)
class _Field:
    name: str
    optional: bool
    is_list: bool
    nested: type[BaseModel] | None  # the object type it holds (in a list or alone)

    @property
    def empty(self) -> list[Any] | None:
        return [] if self.is_list and self.name not in NULL_LISTS else None


def _shape(annotation: Any) -> tuple[bool, type[BaseModel] | None]:
    """(is it a list, the object type it holds) through ``Annotated`` and ``| None``."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _shape(args[0])
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _shape(inner[0]) if len(inner) == 1 else (False, None)
    if origin is list:
        return True, _shape(args[0])[1] if args else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return False, annotation
    return False, None


@functools.cache
def _fields(model: type[BaseModel]) -> tuple[_Field, ...]:
    return tuple(_Field(info.alias or name, not info.is_required(), *_shape(info.annotation))
                 for name, info in model.model_fields.items())


def _nested(value: Any, f: _Field) -> Any:
    assert f.nested is not None
    if f.is_list and isinstance(value, list):
        return [complete(v, f.nested) if isinstance(v, dict) else v for v in value]
    if not f.is_list and isinstance(value, dict):
        return complete(value, f.nested)
    return value


def complete(data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """``data`` with every optional field of ``model`` present, empty when unset."""
    out = dict(data)
    for f in _fields(model):
        value = out.get(f.name)
        if value is None:
            if f.optional:
                out[f.name] = f.empty
        elif f.nested is not None:
            out[f.name] = _nested(value, f)
    return out


def complete_patch(data: dict[str, Any], model: type[BaseModel]) -> dict[str, Any]:
    """A PATCH: the objects it carries completed, no field of its own added (an added
    ``null`` would clear what the partner has)."""
    out = dict(data)
    for f in _fields(model):
        if f.nested is not None and out.get(f.name) is not None:
            out[f.name] = _nested(out[f.name], f)
    return out


def credentials_with_nulls(version: str, body: dict[str, Any]) -> dict[str, Any]:
    """Our credentials with every optional field of ``version`` present."""
    return complete(body, credentials.SCHEMAS.get(version, credentials.Credentials230))
