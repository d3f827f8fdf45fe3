"""Tariff and CDR schemas and mappers: every specification example is accepted in
its version (the deviating ones fail exactly where the README says), reads back
equal in its own version, and renders valid in every other one; 2.2.1 Prices
map to 2.3.0's exactly; what a version cannot carry is left out on purpose."""

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from ocpi.core import jsonutil
from ocpi.core.mapping import without_nulls
from ocpi.modules.cdrs import mapper as cdr_mapper
from ocpi.modules.cdrs.schemas import SCHEMAS as CDR_SCHEMAS
from ocpi.modules.locations import mapper as location_mapper
from ocpi.modules.tariffs import mapper as tariff_mapper
from ocpi.modules.tariffs.schemas import SCHEMAS as TARIFF_SCHEMAS
from ocpi.modules.tariffs.schemas import CdrTariff230, Tariff230

# plain schema tests: no node, so read the examples directly (exact decimals)
EXAMPLES = Path(__file__).resolve().parent / "data" / "ocpi-examples"


def example(version: str, name: str) -> Any:
    return jsonutil.loads((EXAMPLES / version / name).read_text())

VERSIONS = ("2.1.1", "2.2.1", "2.3.0")
# README "Deviation": not complete objects as printed
TARIFF_DEVIATIONS = {
    "2.1.1": {"mod_tariffs_L187_example_new_tariff_2_euro_per_hour.json",
              "mod_tariffs_L209_example_change_tariff_to_2_50.json"},
    "2.2.1": {"tariff_put_example.json"},
    "2.3.0": {"tariff_put_example.json"},
}


def _names(version: str, pattern: str) -> list[str]:
    return sorted(p.name for p in (EXAMPLES / version).glob(pattern))


def _tariff_files(version: str) -> list[str]:
    pattern = "mod_tariffs_*.json" if version == "2.1.1" else "tariff*.json"
    return _names(version, pattern)


def _cdr_files(version: str) -> list[str]:
    return _names(version, "mod_cdrs_*.json" if version == "2.1.1" else "cdr_example.json")


TARIFFS = [(v, n) for v in VERSIONS for n in _tariff_files(v) if n not in TARIFF_DEVIATIONS[v]]
CDRS = [(v, n) for v in VERSIONS for n in _cdr_files(v)]
OWNER = ("NL", "TNM")  # a 2.1.1 object's owner, as its URL (or the importing party) says


def _owner(version: str, obj: dict[str, Any]) -> tuple[str | None, str | None]:
    return OWNER if version == "2.1.1" else (obj.get("country_code"), obj.get("party_id"))


def _validate(model: Any, obj: dict[str, Any]) -> list[str]:
    """Validate as the node does; the soft rules' warnings."""
    context: dict[str, Any] = {}
    model.model_validate(obj, context=context)
    return context.get("warnings", [])


def _errors(model: Any, obj: dict[str, Any]) -> set[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(obj, context={})
    return {(e["loc"], e["type"]) for e in caught.value.errors()}


def _lost(had: Any, got: Any, path: str = "") -> set[str]:
    """Canonical paths that do not come back the same (as modules/convert.py asks)."""
    if had == got:
        return set()
    if isinstance(had, dict) and isinstance(got, dict):
        return set().union(*(_lost(v, got.get(k), f"{path}{k}.") for k, v in had.items()))
    if isinstance(had, list) and isinstance(got, list) and len(had) == len(got):
        return set().union(*(_lost(a, b, f"{path.rstrip('.')}[].")
                             for a, b in zip(had, got, strict=True)))
    return {path.rstrip(".")}


def _tariff(**changes: Any) -> dict[str, Any]:
    return {**example("2.3.0", "tariff_4_complex.json"), **changes}


# --- every example, every version ------------------------------------------------

@pytest.mark.parametrize(("version", "name"), TARIFFS)
def test_tariff_example_round_trips_and_renders_in_every_version(version, name):
    obj = example(version, name)
    assert _validate(TARIFF_SCHEMAS[version], obj) == []
    canonical = tariff_mapper.to_canonical(obj, version, *_owner(version, obj))
    assert _validate(Tariff230, canonical) == []  # the canonical tariff is a 2.3.0 one
    assert without_nulls(tariff_mapper.to_wire(canonical, version)) == without_nulls(obj)
    for target in VERSIONS:
        _validate(TARIFF_SCHEMAS[target], tariff_mapper.to_wire(canonical, target))


@pytest.mark.parametrize(("version", "name"), CDRS)
def test_cdr_example_round_trips_and_renders_in_every_version(version, name):
    obj = example(version, name)
    assert _validate(CDR_SCHEMAS[version], obj) == []
    canonical = cdr_mapper.to_canonical(obj, version, *_owner(version, obj))
    _validate(CDR_SCHEMAS["2.3.0"], canonical)
    assert without_nulls(cdr_mapper.to_wire(canonical, version)) == without_nulls(obj)
    for target in VERSIONS:
        _validate(CDR_SCHEMAS[target], cdr_mapper.to_wire(canonical, target))


def test_every_example_file_is_covered():
    """New examples in the folder are picked up; the deviating ones are tested below."""
    assert len(TARIFFS) == 5 + 19 + 21
    assert len(CDRS) == 3


@pytest.mark.parametrize("version", VERSIONS)
def test_tariff_put_example_lacks_only_last_updated(version):
    name = ("mod_tariffs_L187_example_new_tariff_2_euro_per_hour.json" if version == "2.1.1"
            else "tariff_put_example.json")
    obj = example(version, name)
    assert _errors(TARIFF_SCHEMAS[version], obj) == {(("last_updated",), "missing")}
    assert _validate(TARIFF_SCHEMAS[version], {**obj, "last_updated": "2015-06-29T20:39:09Z"}) \
        == []


def test_2_1_1_tariff_patch_fragment_completes_the_tariff_it_patches():
    patch = example("2.1.1", "mod_tariffs_L209_example_change_tariff_to_2_50.json")
    assert _errors(TARIFF_SCHEMAS["2.1.1"], patch) == {
        (("id",), "missing"), (("currency",), "missing"), (("last_updated",), "missing")}
    stored = example("2.1.1", "mod_tariffs_L294_simple_tariff_example_2_euro_per_hour.json")
    merged = {**stored, **patch}
    assert _validate(TARIFF_SCHEMAS["2.1.1"], merged) == []
    assert merged["elements"][0]["price_components"][0]["price"] == Decimal("2.50")


def test_2_3_0_cdr_example_embeds_a_tariff_without_tax_included():
    cdr = example("2.3.0", "cdr_example.json")
    assert "tax_included" not in cdr["tariffs"][0]
    assert _validate(CDR_SCHEMAS["2.3.0"], cdr) == []  # accepted: the spec shows it
    assert _errors(Tariff230, cdr["tariffs"][0]) == {(("tax_included",), "missing")}
    assert _validate(CdrTariff230, cdr["tariffs"][0]) == []
    canonical = cdr_mapper.to_canonical(cdr, "2.3.0")
    # left as it came inside the CDR; a tariff on its own gets the older versions' "NO"
    assert "tax_included" not in cdr_mapper.to_wire(canonical, "2.3.0")["tariffs"][0]
    assert tariff_mapper.to_wire(canonical["tariffs"][0], "2.3.0")["tax_included"] == "NO"


# --- 2.2.1 <-> 2.3.0 -----------------------------------------------------------------

@pytest.mark.parametrize("name", _tariff_files("2.2.1"))
def test_2_2_1_tariff_reads_as_the_2_3_0_example(name):
    """The 2.3.0 examples are the 2.2.1 ones with ``tax_included: "NO"`` and
    PriceLimits: reading 2.2.1 gives exactly them, and 2.3.0 renders back 2.2.1."""
    old, new = example("2.2.1", name), example("2.3.0", name)
    assert tariff_mapper.to_canonical(old, "2.2.1") == new
    assert tariff_mapper.to_wire(new, "2.2.1") == old


def test_price_2_2_1_to_2_3_0_is_exact():
    old, new = example("2.2.1", "cdr_example.json"), example("2.3.0", "cdr_example.json")
    canonical = cdr_mapper.to_canonical(old, "2.2.1")
    for key in ("total_cost", "total_time_cost"):
        assert canonical[key] == new[key] == {
            "before_taxes": Decimal("4.00"), "taxes": [{"name": "VAT", "amount": Decimal("0.40")}]}
        assert isinstance(canonical[key]["taxes"][0]["amount"], Decimal)
        assert str(canonical[key]["taxes"][0]["amount"]) == "0.40"
    back = cdr_mapper.to_wire(new, "2.2.1")
    assert back["total_cost"] == {"excl_vat": Decimal("4.00"), "incl_vat": Decimal("4.40")}
    assert str(back["total_cost"]["incl_vat"]) == "4.40"
    # binary floats would make 0.30000000000000004 of these
    cdr = {**old, "total_cost": {"excl_vat": Decimal("0.1"), "incl_vat": Decimal("0.3")},
           "total_reservation_cost": {"excl_vat": Decimal("0.2")}}
    canonical = cdr_mapper.to_canonical(cdr, "2.2.1")
    assert canonical["total_cost"]["taxes"] == [{"name": "VAT", "amount": Decimal("0.2")}]
    assert canonical["total_reservation_cost"] == {"before_taxes": Decimal("0.2")}
    assert cdr_mapper.to_wire(canonical, "2.2.1")["total_cost"] == cdr["total_cost"]
    # several taxes (Canada's GST and QST) add up to 2.2.1's incl_vat
    two = {**new, "total_cost": {"before_taxes": Decimal("10.00"), "taxes": [
        {"name": "GST", "amount": Decimal("0.50")}, {"name": "QST", "amount": Decimal("0.998")}]}}
    assert cdr_mapper.to_wire(two, "2.2.1")["total_cost"] == {
        "excl_vat": Decimal("10.00"), "incl_vat": Decimal("11.498")}


def test_price_limits_map_exactly():
    limit = {"before_taxes": Decimal("0.50"), "after_taxes": Decimal("0.55")}
    wire = tariff_mapper.to_wire(_tariff(min_price=limit, max_price={"before_taxes": 10}),
                                 "2.2.1")
    assert wire["min_price"] == {"excl_vat": Decimal("0.50"), "incl_vat": Decimal("0.55")}
    assert wire["max_price"] == {"excl_vat": 10}
    back = tariff_mapper.to_canonical(wire, "2.2.1")
    assert back["min_price"] == limit and back["max_price"] == {"before_taxes": 10}


# --- what each version cannot carry ---------------------------------------------------

def test_tax_included_per_version():
    v211 = example("2.1.1", "mod_tariffs_L294_simple_tariff_example_2_euro_per_hour.json")
    assert tariff_mapper.to_canonical(v211, "2.1.1", *OWNER)["tax_included"] == "NO"
    inclusive = example("2.3.0", "tariff_20_simple_north_american_inclusive.json")
    for version in ("2.1.1", "2.2.1"):
        wire = tariff_mapper.to_wire(inclusive, version)
        assert "tax_included" not in wire
        back = tariff_mapper.to_canonical(wire, version, "CA", "FLO")
        assert _lost(inclusive, back) == {"tax_included"}  # reported, prices kept as they are
    # a canonical tariff without it (stored before 2.3.0 was known) goes out as "NO"
    old = {k: v for k, v in inclusive.items() if k != "tax_included"}
    assert tariff_mapper.to_wire(old, "2.3.0")["tax_included"] == "NO"


def test_2_1_1_leaves_out_reservation_elements_and_newer_fields():
    tariff = example("2.3.0", "tariff_17_reservation_with_expire_fee.json")
    tariff["elements"][2]["restrictions"] = {"min_current": 16, "max_current": 32,
                                              "max_power": Decimal("11.0")}
    tariff.update(type="REGULAR", preauthorize_amount=Decimal("25.00"),
                  min_price={"before_taxes": 1}, start_date_time="2019-01-01T00:00:00Z")
    wire = tariff_mapper.to_wire(tariff, "2.1.1")
    assert _validate(TARIFF_SCHEMAS["2.1.1"], wire) == []
    assert wire["elements"] == [{
        "price_components": [
            {"type": "FLAT", "price": Decimal("0.50"), "step_size": 1},
            {"type": "ENERGY", "price": Decimal("0.25"), "step_size": 1}],
        "restrictions": {"max_power": Decimal("11.0")}}]
    assert set(wire) == {"id", "currency", "elements", "last_updated"}
    lost = _lost(tariff, tariff_mapper.to_canonical(wire, "2.1.1", "DE", "ALL"))
    assert lost == {"elements", "type", "preauthorize_amount", "min_price", "start_date_time"}
    # 2.2.1 carries the reservation elements and the currents, not 2.3.0's additions
    wire = tariff_mapper.to_wire(tariff, "2.2.1")
    assert len(wire["elements"]) == 3 and wire["elements"][2]["restrictions"]["min_current"] == 16
    assert "preauthorize_amount" not in wire and "tax_included" not in wire


def test_2_1_1_tariff_of_reservation_elements_only_is_free_of_charge():
    tariff = example("2.3.0", "tariff_15_reservation_5_euro_per_hour.json")
    tariff["elements"] = [e for e in tariff["elements"] if tariff_mapper.is_reservation_element(e)]
    wire = tariff_mapper.to_wire(tariff, "2.1.1")
    assert wire["elements"] == [{"price_components": [
        {"type": "FLAT", "price": Decimal("0.00"), "step_size": 0}]}]
    assert _validate(TARIFF_SCHEMAS["2.1.1"], wire) == []


def test_non_strict_keeps_what_an_older_version_cannot_carry():
    """A PATCH in 2.1.1 is merged into this: nothing of 2.3.0 may go."""
    tariff = example("2.3.0", "tariff_17_reservation_with_expire_fee.json")
    wire = tariff_mapper.to_wire(tariff, "2.1.1", strict=False)
    assert tariff_mapper.to_canonical(wire, "2.1.1") == tariff
    cdr = example("2.3.0", "cdr_example.json")
    wire = cdr_mapper.to_wire(cdr, "2.1.1", strict=False)
    assert wire["stop_date_time"] == cdr["end_date_time"]
    back = without_nulls(cdr_mapper.to_canonical(wire, "2.1.1"))
    # only the embedded tariff, read as 2.1.1, says what 2.1.1 prices are
    assert back == {**cdr, "location": wire["location"],
                    "tariffs": [{**cdr["tariffs"][0], "tax_included": "NO"}]}


def test_extensions_and_energy_mix_survive():
    mix = {"is_green_energy": False, "environ_impact": [
        {"category": "CARBON_DIOXIDE", "amount": Decimal("372")}]}
    tariff = _tariff(x_hub={"a": 1}, energy_mix=mix)
    tariff["elements"][0]["x_note"] = "kept"
    for version in VERSIONS:
        wire = tariff_mapper.to_wire(tariff, version)
        assert wire["x_hub"] == {"a": 1} and wire["elements"][0]["x_note"] == "kept"
        _validate(TARIFF_SCHEMAS[version], wire)
    v211 = tariff_mapper.to_wire(tariff, "2.1.1")
    assert v211["energy_mix"]["environ_impact"] == [{"source": "CARBON_DIOXIDE",
                                                     "amount": Decimal("372")}]
    assert tariff_mapper.to_canonical(v211, "2.1.1", "DE", "ALL")["energy_mix"] == mix


def test_datetimes_are_cut_to_string_25():
    tariff = _tariff(last_updated="2015-06-29T20:39:09.123456Z",
                     end_date_time="2019-06-30T23:59:59.9999+00:00")
    for version in VERSIONS:
        wire = tariff_mapper.to_wire(tariff, version)
        assert wire["last_updated"] == "2015-06-29T20:39:09.123Z"
        _validate(TARIFF_SCHEMAS[version], wire)
    assert tariff_mapper.to_wire(tariff, "2.2.1")["end_date_time"] == "2019-06-30T23:59:59.999Z"
    cdr = example("2.3.0", "cdr_example.json")
    cdr["charging_periods"][0]["start_date_time"] = "2024-12-05T17:39:09.5555555Z"
    cdr["tariffs"][0]["last_updated"] = "2024-05-02T14:15:01.0000001Z"
    for version in VERSIONS:
        wire = cdr_mapper.to_wire(cdr, version)
        assert wire["charging_periods"][0]["start_date_time"] == "2024-12-05T17:39:09.555Z"
        assert wire["tariffs"][0]["last_updated"] == "2024-05-02T14:15:01Z"


# --- hard and soft rules ------------------------------------------------------------

@pytest.mark.parametrize(("path", "value"), [
    (("elements", 0, "price_components", 0, "type"), "KWH"),
    (("elements", 0, "price_components", 0, "step_size"), -1),
    (("elements", 1, "restrictions", "max_power"), "a lot"),
    (("elements", 2, "restrictions", "day_of_week", 0), "MON"),
    (("elements", 4, "restrictions", "start_time"), "9:00"),
    (("elements", 4, "restrictions", "end_time"), "24:00"),
    (("elements", 4, "restrictions", "start_date"), "2015-02-30"),
    (("elements", 4, "restrictions", "end_date"), "2015/12/27"),
    (("elements", 4, "restrictions", "reservation"), "BOOKING"),
    (("elements", 0, "price_components"), []),
    (("elements",), []),
    (("tax_included",), "MAYBE"),
])
def test_values_that_drive_pricing_are_hard_rules(path, value):
    tariff = copy.deepcopy(example("2.3.0", "tariff_4_complex.json"))
    target = tariff
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    errors = _errors(Tariff230, tariff)
    assert [loc for loc, _ in errors] == [path]


def test_tariff_type_is_open_and_optional_fields_are_optional():
    tariff = _tariff(type="PROFILE_SOLAR")
    assert _validate(Tariff230, tariff) == ["type: unknown value 'PROFILE_SOLAR' kept"]
    minimal = {"country_code": "DE", "party_id": "ALL", "id": "1", "currency": "EUR",
               "elements": [{"price_components": [{"type": "FLAT", "price": 1,
                                                  "step_size": 1}]}],
               "tax_included": "N/A", "last_updated": "2024-01-01T00:00:00Z"}
    assert _validate(Tariff230, minimal) == []
    assert _validate(TARIFF_SCHEMAS["2.2.1"], minimal) == []


def test_credit_cdr_names_the_cdr_it_credits():
    cdr = {**example("2.3.0", "cdr_example.json"), "id": "12345-CREDIT", "credit": True}
    assert _errors(CDR_SCHEMAS["2.3.0"], cdr) == {((), "value_error")}
    assert _validate(CDR_SCHEMAS["2.3.0"], {**cdr, "credit_reference_id": "12345"}) == []


# --- the 2.1.1 CDR's Location -----------------------------------------------------------

def test_2_1_1_cdr_reads_as_a_2_3_0_cdr():
    v211 = example("2.1.1", "mod_cdrs_L250_example_of_a_cdr.json")
    canonical = cdr_mapper.to_canonical(v211, "2.1.1", "BE", "BEC")
    assert canonical["end_date_time"] == "2015-06-29T23:37:32Z"
    assert "stop_date_time" not in canonical and "auth_id" not in canonical
    assert canonical["cdr_token"] == {"country_code": "DE", "party_id": "8AC",
                                      "uid": "DE8ACC12E46L89", "type": "OTHER",
                                      "contract_id": "DE8ACC12E46L89"}
    assert canonical["cdr_location"] == {
        "id": "LOC1", "name": "Gent Zuid", "address": "F.Rooseveltlaan 3A", "city": "Gent",
        "postal_code": "9000", "country": "BE",
        "coordinates": {"latitude": "3.729944", "longitude": "51.047599"},
        "evse_uid": "3256", "evse_id": "BE-BEC-E041503003", "connector_id": "1",
        "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET",
        "connector_power_type": "AC_1_PHASE"}
    assert canonical["location"] == v211["location"]  # kept for 2.1.1 readers
    assert canonical["total_cost"] == {"before_taxes": Decimal("4.00")}
    tariff = canonical["tariffs"][0]
    assert (tariff["country_code"], tariff["party_id"], tariff["tax_included"]) == (
        "BE", "BEC", "NO")
    assert not cdr_mapper.needs_location(canonical, "2.1.1")
    assert not cdr_mapper.needs_location(canonical, "2.2.1")
    wire = cdr_mapper.to_wire(canonical, "2.3.0")
    assert "location" not in wire and "auth_id" not in wire
    assert wire["total_cost"] == {"before_taxes": Decimal("4.00")}


def test_gireve_authorization_id():
    v211 = {**example("2.1.1", "mod_cdrs_L250_example_of_a_cdr.json"),
            "authorization_id": "AUTH-1"}
    canonical = cdr_mapper.to_canonical(v211, "2.1.1", "BE", "BEC")
    assert canonical["authorization_reference"] == "AUTH-1"
    assert cdr_mapper.to_wire(canonical, "2.1.1") == v211
    assert cdr_mapper.to_wire(canonical, "2.2.1")["authorization_reference"] == "AUTH-1"


def test_2_1_1_location_built_from_cdr_location():
    cdr = example("2.3.0", "cdr_example.json")
    assert cdr_mapper.needs_location(cdr, "2.1.1")
    assert not cdr_mapper.needs_location(cdr, "2.3.0")
    wire = cdr_mapper.to_wire(cdr, "2.1.1")
    assert wire["location"] == {
        "id": "LOC1", "type": "UNKNOWN", "name": "Gent Zuid", "address": "F.Rooseveltlaan 3A",
        "city": "Gent", "postal_code": "9000", "country": "BEL",
        "coordinates": {"latitude": "3.729944", "longitude": "51.047599"},
        "evses": [{"uid": "3256", "evse_id": "BE*BEC*E041503003", "status": "UNKNOWN",
                   "connectors": [{"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                                   "power_type": "AC_1_PHASE", "voltage": 0, "amperage": 0,
                                   "last_updated": cdr["last_updated"]}],
                   "last_updated": cdr["last_updated"]}],
        "last_updated": cdr["last_updated"]}
    assert wire["auth_id"] == "DE8ACC12E46L89" and wire["total_cost"] == Decimal("4.00")
    assert wire["stop_date_time"] == cdr["end_date_time"]
    assert "tariff_id" not in wire["charging_periods"][0]
    back = cdr_mapper.to_canonical(wire, "2.1.1", "BE", "BEC")
    assert _lost(cdr, back) == {"cdr_token.party_id", "cdr_token.uid", "cdr_token.type",
                                "charging_periods[].tariff_id", "total_cost.taxes",
                                "total_time_cost", "tariffs[].elements[].price_components[].vat"}


def test_2_1_1_location_from_the_stored_location():
    cdr = example("2.3.0", "cdr_example.json")
    stored = location_mapper.to_canonical(example("2.3.0", "location_example.json"), "2.3.0",
                                          "location")
    wire = cdr_mapper.to_wire(cdr, "2.1.1", context={**stored, "_source": {"x": 1}})
    assert _validate(CDR_SCHEMAS["2.1.1"], wire) == []
    location = wire["location"]
    assert "_source" not in location  # the node's own keys never reach a partner
    assert location["type"] == "PARKING_GARAGE"  # the stored Location's, from parking_type
    assert location["time_zone"] == stored["time_zone"]
    [evse] = location["evses"]
    assert evse["uid"] == "3256" and evse["status"] == stored["evses"][0]["status"]
    assert evse["evse_id"] == "BE*BEC*E041503003"  # what the CDR records wins
    [connector] = evse["connectors"]
    assert (connector["id"], connector["voltage"], connector["amperage"]) == ("1", 220, 16)
    # an EVSE the Location no longer holds is built from the CDR's record
    gone = {**cdr, "cdr_location": {**cdr["cdr_location"], "evse_uid": "9999"}}
    [evse] = cdr_mapper.to_wire(gone, "2.1.1", context=stored)["location"]["evses"]
    assert evse["uid"] == "9999" and evse["connectors"][0]["voltage"] == 0


def test_cdr_of_a_reservation_without_an_evse():
    cdr = example("2.3.0", "cdr_example.json")
    cdr["cdr_location"] = {**cdr["cdr_location"], **dict.fromkeys(
        ("evse_uid", "evse_id", "connector_id"), "#NA")}
    wire = cdr_mapper.to_wire(cdr, "2.1.1")
    assert wire["location"]["evses"] == []
    assert _validate(CDR_SCHEMAS["2.1.1"], wire) == []
    back = cdr_mapper.to_canonical(wire, "2.1.1", "BE", "BEC")
    assert back["cdr_location"]["evse_uid"] == "#NA"
    assert back["cdr_location"]["connector_standard"] == "#NA"  # 2.2+ "any value" there
    v230 = cdr_mapper.to_wire(back, "2.3.0")
    assert _validate(CDR_SCHEMAS["2.3.0"], v230) == [
        "connector_standard: unknown value '#NA' kept",
        "connector_format: unknown value '#NA' kept",
        "connector_power_type: unknown value '#NA' kept"]
