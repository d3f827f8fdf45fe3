"""Tariff wire <-> canonical (the 2.3.0 Tariff).

- 2.1.1 carries no owner: it is the party of the URL (or of the CDR that embeds
  the tariff), as for Tokens. EnvironmentalImpact ``source`` is ``category``.
- 2.1.1 and 2.2.1 prices are excl. VAT by their definition ("price per unit
  (excl. VAT)"), which 2.3.0 says as ``tax_included: "NO"``: a tariff read in
  2.1.1 or 2.2.1 is stored with it, so the canonical tariff is a valid 2.3.0 one.
  Going back, ``tax_included`` is dropped; a "YES" or "N/A" tariff goes out with
  its prices as they are (converting them would need the taxes per dimension)
  and the loss is reported as ``tax_included``.
- 2.2.1 ``min_price``/``max_price`` Price ``{excl_vat, incl_vat}`` are 2.3.0's
  PriceLimit ``{before_taxes, after_taxes}``.
- 2.1.1 has no reservation restriction: an element that prices a reservation
  would price charging there, so strict 2.1.1 output leaves the element out
  (and the loss is reported). A tariff of reservation elements only charges
  nothing for charging; 2.1.1 needs one element, so it gets the specification's
  free-of-charge element (FLAT, 0.00). 2.1.1 restrictions also lose
  ``min_current``/``max_current`` and price components their ``vat``.

Strict output keeps fields no version defines (extensions), cuts DateTimes to
``string(25)`` and fills ``tax_included`` for 2.3.0 when the canonical tariff
lacks it; a tariff embedded in a 2.3.0 CDR is left as it came (``CdrTariff230``).
"""

from decimal import Decimal
from typing import Any

from ...core.datetime import emitted
from ...core.mapping import drop, version_filter
from ..locations.mapper import energy_mix_in_211, energy_mix_out_211
from ..versions.enums import is_v2_1
from .schemas import PARTS

_OTHER = {
    kind: version_filter({v: parts[kind].model_fields.keys() for v, parts in PARTS.items()})
    for kind in ("tariff", "element", "price_component", "restrictions")
}
_TIMES = ("start_date_time", "end_date_time", "last_updated")
_LIMITS = ("min_price", "max_price")
# what 2.1.1 and 2.2.1 prices are, in 2.3.0's words
PRICES_EXCL_TAX = "NO"


def free_of_charge() -> dict[str, Any]:
    """The specification's free-of-charge element (2.1.1 example: FLAT, 0.00)."""
    return {"price_components": [{"type": "FLAT", "price": Decimal("0.00"), "step_size": 0}]}



def _limit_from_221(price: Any) -> Any:
    if not isinstance(price, dict) or "excl_vat" not in price:
        return price
    out = {k: v for k, v in price.items() if k not in ("excl_vat", "incl_vat")}
    out["before_taxes"] = price["excl_vat"]
    if price.get("incl_vat") is not None:
        out["after_taxes"] = price["incl_vat"]
    return out


def _limit_to_221(limit: Any) -> Any:
    if not isinstance(limit, dict) or "before_taxes" not in limit:
        return limit
    out = {k: v for k, v in limit.items() if k not in ("before_taxes", "after_taxes")}
    out["excl_vat"] = limit["before_taxes"]
    if limit.get("after_taxes") is not None:
        out["incl_vat"] = limit["after_taxes"]
    return out


def is_reservation_element(element: Any) -> bool:
    """The element prices a reservation (2.2+ ``restrictions.reservation``)."""
    restrictions = element.get("restrictions") if isinstance(element, dict) else None
    return isinstance(restrictions, dict) and restrictions.get("reservation") is not None


def to_canonical(obj: dict[str, Any], version: str, country_code: str | None = None,
                 party_id: str | None = None) -> dict[str, Any]:
    out = dict(obj)
    if is_v2_1(version):
        if country_code is not None:  # 2.1.1 has no owner field: one sent is no owner
            out["country_code"], out["party_id"] = country_code, party_id
        if isinstance(out.get("energy_mix"), dict):
            out["energy_mix"] = energy_mix_in_211(out["energy_mix"])
        out.setdefault("tax_included", PRICES_EXCL_TAX)
    elif version == "2.2.1":
        for key in _LIMITS:
            if key in out:
                out[key] = _limit_from_221(out[key])
        out.setdefault("tax_included", PRICES_EXCL_TAX)
    return out


def to_wire(obj: dict[str, Any], version: str, *, strict: bool = True,
            context: dict[str, Any] | None = None, embedded: bool = False) -> dict[str, Any]:
    """Canonical -> wire. ``embedded``: the tariff is part of a CDR, which takes
    it as it came (no ``tax_included`` filled). ``context`` is unused."""
    out = {k: v for k, v in obj.items() if not k.startswith("_")} if strict else dict(obj)
    if is_v2_1(version):
        if isinstance(out.get("energy_mix"), dict):
            out["energy_mix"] = energy_mix_out_211(out["energy_mix"])
        key = "2.1.1"
    else:
        if version == "2.2.1":
            for name in _LIMITS:
                if name in out:
                    out[name] = _limit_to_221(out[name])
        key = version if version in PARTS else "2.3.0"
    if not strict:
        return out
    for name in _TIMES:
        if name in out:
            out[name] = emitted(out[name])
    if isinstance(out.get("elements"), list):
        out["elements"] = _elements_out(out["elements"], key)
    if key == "2.3.0" and out.get("tax_included") is None and not embedded:
        # only a tariff stored before 2.3.0 was known lacks it: it came in an
        # older version, whose prices are excl. VAT
        out["tax_included"] = PRICES_EXCL_TAX
    return drop(out, _OTHER["tariff"][key])


def _elements_out(elements: list[Any], version: str) -> list[Any]:
    kept = []
    for element in elements:
        if not isinstance(element, dict):
            kept.append(element)
            continue
        if version == "2.1.1" and is_reservation_element(element):
            continue
        out = dict(element)
        if isinstance(out.get("price_components"), list):
            out["price_components"] = [
                drop(c, _OTHER["price_component"][version]) if isinstance(c, dict) else c
                for c in out["price_components"]]
        if isinstance(out.get("restrictions"), dict):
            out["restrictions"] = drop(out["restrictions"], _OTHER["restrictions"][version])
        kept.append(drop(out, _OTHER["element"][version]))
    if version == "2.1.1" and elements and not kept:
        kept.append(free_of_charge())
    return kept
