"""Explicit nulls for the objects the modules declare (see ``peers/nulls.py`` for
the completion itself): each declaration's schema per version says what to fill."""

from typing import Any

from pydantic import BaseModel

from ..peers import credentials
from ..peers.nulls import complete


def model_for(module: str, version: str, kind: str = "location") -> type[BaseModel] | None:
    """The schema of ``module``'s object in ``version`` (``kind``: location, evse or
    connector for locations); ``None`` for a module without one here."""
    if module == "credentials":
        return credentials.SCHEMAS.get(version, credentials.Credentials230)
    from .registry import object_type  # read when asked: the registry imports the modules

    try:
        return object_type(module).model(version, kind)
    except LookupError:
        return None


def with_nulls(module: str, version: str, data: Any, kind: str = "location") -> Any:
    """``data`` (an object, or a list of them) completed for ``module`` in ``version``."""
    model = model_for(module, version, kind)
    if model is None:
        return data
    if isinstance(data, list):
        return [complete(d, model) if isinstance(d, dict) else d for d in data]
    return complete(data, model) if isinstance(data, dict) else data
