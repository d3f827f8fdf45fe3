"""Sample data for ``ocpi serve --demo``: a few real-looking locations and their tariff."""

from typing import Any

_SITES = [
    ("Amsterdam Centraal P1", "Stationsplein 15", "Amsterdam", "1012 AB", "52.378901",
     "4.900282", "PARKING_GARAGE"),
    ("Utrecht Jaarbeurs", "Jaarbeursplein 6", "Utrecht", "3521 AL", "52.088470", "5.107560",
     "PARKING_LOT"),
    ("Rotterdam Kop van Zuid", "Wilhelminakade 137", "Rotterdam", "3072 AP", "51.907490",
     "4.487890", "ON_STREET"),
]


TARIFF_ID = "DEMO-TARIFF"


def sample_tariff(country_code: str, party_id: str,
                  last_updated: str = "2026-01-01T00:00:00Z") -> dict[str, Any]:
    """The demo connectors' tariff: EUR 0.35 per kWh and EUR 2 per hour parked, VAT 21%,
    so a simulated session ends in a priced CDR."""
    return {"country_code": country_code, "party_id": party_id, "id": TARIFF_ID,
            "currency": "EUR", "type": "REGULAR",
            "elements": [{"price_components": [
                {"type": "ENERGY", "price": 0.35, "vat": 21.0, "step_size": 1},
                {"type": "PARKING_TIME", "price": 2.0, "vat": 21.0, "step_size": 60}]}],
            "last_updated": last_updated}


def sample_locations(country_code: str, party_id: str,
                     last_updated: str = "2026-01-01T00:00:00Z") -> list[dict[str, Any]]:
    """Canonical (2.2.1/2.3.0) Locations, each with two EVSEs of two connectors."""
    out = []
    for n, (name, address, city, postal, lat, lon, parking) in enumerate(_SITES, start=1):
        evses = []
        for e in (1, 2):
            uid = f"DEMO-{n}-{e}"
            evses.append({
                "uid": uid,
                "evse_id": f"{country_code}*{party_id}*E{n}{e:03d}",
                "status": "AVAILABLE" if e == 1 else "CHARGING",
                "capabilities": ["RFID_READER", "REMOTE_START_STOP_CAPABLE"],
                "connectors": [
                    {"id": "1", "standard": "IEC_62196_T2", "format": "SOCKET",
                     "power_type": "AC_3_PHASE", "max_voltage": 400, "max_amperage": 32,
                     "max_electric_power": 22000, "tariff_ids": [TARIFF_ID],
                     "last_updated": last_updated},
                    {"id": "2", "standard": "IEC_62196_T2_COMBO", "format": "CABLE",
                     "power_type": "DC", "max_voltage": 920, "max_amperage": 200,
                     "max_electric_power": 150000, "tariff_ids": [TARIFF_ID],
                     "last_updated": last_updated},
                ],
                "last_updated": last_updated,
            })
        out.append({
            "country_code": country_code, "party_id": party_id, "id": f"DEMO-{n}",
            "publish": True, "name": name, "address": address, "city": city,
            "postal_code": postal, "country": "NLD",
            "coordinates": {"latitude": lat, "longitude": lon}, "parking_type": parking,
            "evses": evses, "time_zone": "Europe/Amsterdam",
            "opening_times": {"twentyfourseven": True}, "last_updated": last_updated,
        })
    return out
