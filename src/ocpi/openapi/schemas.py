"""JSON Schema of the modules' pydantic models, collected into one ``components`` set.

The schemas are the ones the node validates with (each module's ``schemas.py``), so
a field the declaration requires in a version is required in the document, and an
optional one is optional. What a validator function checks is invisible to pydantic's
generator; the shared field types say it with JSON Schema hints (``core.types``).
"""

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

REF = "#/components/schemas/{model}"


class _OcpiJsonSchema(GenerateJsonSchema):
    """Pydantic's generator in validation mode: what the node accepts (a decimal as a
    JSON number, or as a numeric string, which some partners send)."""

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False  # "Country Code" beside country_code says nothing


class SchemaSet:
    """The models an OpenAPI document names; ``ref`` now, the schemas once at the end
    (one pass, so a model shared by several versions is one component)."""

    def __init__(self) -> None:
        self._models: dict[type[BaseModel], None] = {}
        self._patches: dict[str, tuple[type[BaseModel], tuple[str, ...]]] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, Any]:
        self._models.setdefault(model, None)
        return {"$ref": REF.format(model=model.__name__)}

    def patch_ref(self, model: type[BaseModel], required: tuple[str, ...] = ()
                  ) -> dict[str, Any]:
        """A PATCH body of ``model`` (``patch_of``), a component of its own."""
        self.ref(model)
        name = f"{model.__name__}-patch" + ("-stamped" if required else "")
        self._patches[name] = (model, required)
        return {"$ref": REF.format(model=name)}

    def components(self) -> dict[str, Any]:
        """The ``components.schemas`` of every model referred to; a ``$ref`` given out
        by ``ref`` names the model's class, so two models of one name are refused."""
        models = list(self._models)
        names = [m.__name__ for m in models]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two models named {', '.join(twice)}: rename one")
        mode: JsonSchemaMode = "validation"
        refs, defs = models_json_schema([(m, mode) for m in models], ref_template=REF,
                                        schema_generator=_OcpiJsonSchema)
        for (model, _), ref in refs.items():
            if ref != {"$ref": REF.format(model=model.__name__)}:
                raise ValueError(f"{model.__name__}: named {ref} by pydantic")
        schemas = defs.get("$defs", {})
        for name, (model, required) in self._patches.items():
            schemas[name] = patch_of(schemas[model.__name__], required)
        return dict(sorted(schemas.items()))


def patch_of(schema: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    """A PATCH body of an object: any of its fields, none required but ``required``
    (``last_updated`` on 2.2+); each field as the object has it."""
    return {"type": "object", "minProperties": 1, "additionalProperties": True,
            "properties": dict(schema.get("properties", {})),
            **({"required": list(required)} if required else {})}
