"""The IANA time zone at a point, offline: what our own Locations get when they come
without ``time_zone`` (2.1.1 leaves it optional; 2.2+ partners and pricing need it).

tzfpy (bundled boundaries of timezone-boundary-builder, territorial waters included)
answers the nautical zones (``Etc/GMT-3``) at open sea: valid IANA names, kept, since
a charger offshore has no other; the caller says so, as such a point often means
swapped coordinates.
"""

import math
from zoneinfo import ZoneInfo

_LATITUDE_MAX, _LONGITUDE_MAX = 90.0, 180.0


def time_zone_at(latitude: str, longitude: str) -> str | None:
    """The IANA name of the zone at the point; None when the text is not a coordinate
    in range or no zone is known there. Coordinates are taken as given."""
    try:
        lat, lng = float(latitude), float(longitude)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(lat) and math.isfinite(lng)
            and abs(lat) <= _LATITUDE_MAX and abs(lng) <= _LONGITUDE_MAX):
        return None
    from tzfpy import get_tz  # only when a Location lacks one: the usual write never loads it

    name = get_tz(lng, lat)  # longitude first
    return name if name and _loadable(name) else None


def at_sea(name: str) -> bool:
    """A nautical zone: no land (nor territorial water) at the point."""
    return name.startswith("Etc/")


def _loadable(name: str) -> bool:
    """Pricing reads the zone with ``zoneinfo``: a name this host's tz database lacks
    (tzfpy's data newer than it) would fail there, so it is not derived."""
    try:
        ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True
