"""Helpers for version mappers: which fields a version's output may carry."""

from collections.abc import Iterable, Mapping
from typing import Any


def version_filter(per_version_fields: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    """For each version, the fields that belong to *other* versions only.

    Output for a version drops these; fields that no version defines (hub
    extensions, unknown extras) are kept and returned.
    """
    sets = {v: frozenset(f) for v, f in per_version_fields.items()}
    everything = frozenset().union(*sets.values())
    return {v: everything - own for v, own in sets.items()}


def drop(obj: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in names and v is not None}


def without_nulls(obj: Any) -> Any:
    """Leave out unset optional fields instead of sending nulls."""
    if isinstance(obj, dict):
        return {k: without_nulls(v) for k, v in obj.items() if v is not None}
    if isinstance(obj, list):
        return [without_nulls(v) for v in obj]
    return obj
