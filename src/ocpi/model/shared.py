"""DisplayText, Image and BusinessDetails: used by Locations, Tokens, Tariffs and
the credentials of the handshake alike (the same in every version)."""

from ..core.types import CiString, OcpiModel, OpenEnum, Text

IMAGE_CATEGORIES = ("CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER")


class DisplayText(OcpiModel):
    language: CiString(2)
    text: Text(512)


class Image(OcpiModel):
    url: Text(255)
    thumbnail: Text(255) | None = None
    category: OpenEnum(IMAGE_CATEGORIES)
    type: CiString(4)
    width: int | None = None
    height: int | None = None


class BusinessDetails(OcpiModel):
    name: Text(100)
    website: Text(255) | None = None
    logo: Image | None = None
