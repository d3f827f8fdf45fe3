"""One documented operation, before it is written as OpenAPI."""

from dataclasses import dataclass, field
from typing import Any

PARTNER, OPERATOR, PUBLIC = "partner", "operator", "public"


@dataclass
class Operation:
    """What a caller needs to know of one route and method.

    ``data`` is the schema of the envelope's ``data`` (None: the envelope carries
    none); ``body`` the request's; ``raw`` a response that is no envelope, by media
    type (``/metrics``' text, the document itself)."""

    summary: str
    tag: str
    who: str = PARTNER  # PARTNER (a partner's token, or the operator's), OPERATOR, PUBLIC
    description: str = ""
    body: dict[str, Any] | None = None
    body_required: bool = True
    data: dict[str, Any] | None = None
    paginated: bool = False
    created: bool = False  # a PUT or POST may answer 201
    query: list[dict[str, Any]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)  # components.parameters names
    raw: dict[str, dict[str, Any]] | None = None
    # other media types of the answer beside the envelope, on ``Accept`` (CSV, HTML)
    alternatives: dict[str, dict[str, Any]] = field(default_factory=dict)
    # path parameter -> its meaning, where a name alone does not say it
    path_notes: dict[str, str] = field(default_factory=dict)
    path_values: dict[str, list[str]] = field(default_factory=dict)  # a parameter's values
    described: bool = True  # False: no declaration explains the route


def query(name: str, schema: dict[str, Any], description: str, required: bool = False
          ) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}
