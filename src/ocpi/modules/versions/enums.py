"""``VersionNumber`` at the import path the seed tutorials use."""

from enum import StrEnum


class VersionNumber(StrEnum):
    """OCPI versions; the node serves 2.1.1, 2.2.1 and 2.3.0."""

    v_2_0 = "2.0"
    v_2_1 = "2.1"
    v_2_1_1 = "2.1.1"
    v_2_2 = "2.2"
    v_2_2_1 = "2.2.1"
    v_2_3_0 = "2.3.0"
    latest = "2.3.0"


SUPPORTED_VERSIONS: tuple[VersionNumber, ...] = (
    VersionNumber.v_2_1_1,
    VersionNumber.v_2_2_1,
    VersionNumber.v_2_3_0,
)


def is_v2_1(version: str) -> bool:
    """2.0/2.1/2.1.1 share the old wire format (plain tokens, no roles, embedded location)."""
    return version in ("2.0", "2.1", "2.1.1")
