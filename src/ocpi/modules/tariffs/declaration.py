"""Tariffs as the kernel knows them (OCPI 2.1.1 ``mod_tariffs.md``, 2.2.1 and 2.3.0
``mod_tariffs.asciidoc``): the CPO's own, pushed to every partner that is not only
a CPO; a removed tariff goes as DELETE. Receivers take PATCH only in 2.1.1 (2.2.1
and 2.3.0 list it as n/a), so newer partners always get the whole tariff."""

from ...core.enums import ModuleID, RoleEnum
from ...store.schema import object_table
from ..kernel import ObjectType, PushRule, declare
from . import mapper
from .schemas import SCHEMAS

table = object_table("tariffs")

TARIFFS = declare(ObjectType(
    module=ModuleID.tariffs, name="Tariff", table=table, own_role=RoleEnum.cpo,
    schemas=SCHEMAS, to_wire=mapper.to_wire, to_canonical=mapper.to_canonical,
    url_keys=lambda params, query, version: [(params["tariff_id"], {})],
    push=PushRule.TO_NON_CPOS, push_methods=frozenset({"PUT", "PATCH", "DELETE"}),
    patch_versions=frozenset({"2.1.1"}),
))
