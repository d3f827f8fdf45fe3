"""What the list pages share: the side, the owner and the page asked for.

Every list page takes the same bounded query parameters (``side``, ``owner``,
``offset``, ``limit``), so a link or a bookmark means the same on each page.
"""

from dataclasses import dataclass
from typing import Any

from .forms import BadInput
from .web import Ctx

SIDES = ("all", "ours", "partners")
LIMITS = ("10", "25", "50", "100")
MAX_OFFSET = 1_000_000


@dataclass
class Listing:
    side: str
    ours: bool | None  # for store.browse: None is both sides
    owner: tuple[str, str] | None
    offset: int
    limit: int

    def query(self, **more: Any) -> dict[str, Any]:
        """The parameters of this listing (for links to other pages of it)."""
        return {"side": self.side, "owner": "*".join(self.owner) if self.owner else "",
                "limit": self.limit, **more}


def owner(c: Ctx) -> tuple[str, str] | None:
    """``NL*OCP`` (or ``NL/OCP``, ``NLOCP``) as a (country, party) pair; empty is any."""
    raw = c.text("owner", max_length=7).upper().replace("/", "*").replace("-", "*")
    if not raw:
        return None
    cc, _, pid = raw.partition("*") if "*" in raw else (raw[:2], "", raw[2:])
    if len(cc) != 2 or not 1 <= len(pid) <= 3 or not (cc + pid).isalnum() \
            or not (cc + pid).isascii():
        raise BadInput("owner must be a country code and party id, like NL*OCP")
    return cc, pid


def listing(c: Ctx, default_side: str = "all") -> Listing:
    side = c.choice("side", SIDES, default_side)
    return Listing(side, None if side == "all" else side == "ours", owner(c),
                   c.integer("offset", 0, lo=0, hi=MAX_OFFSET),
                   int(c.choice("limit", LIMITS, "25")))
