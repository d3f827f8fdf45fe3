"""Which versions a stored object can be served in straight from its text.

A list page is the hot read path of a CPO (hubs pull every Location daily).
When a version's wire form of an object equals the stored canonical object,
the page splices the stored JSON text instead of parsing and rendering it.
The store asks the object's declaration once per write
(``ObjectType.plain_versions``) and keeps the answer beside the object.
"""

import functools

from .kernel import REVISION


@functools.lru_cache(maxsize=256)  # a handful of flag strings: a page asks 50 times
def is_plain(flags: str | None, version: str) -> bool:
    """May the stored text be served as ``version``'s wire form (by this revision)?"""
    if not flags or not flags.startswith(REVISION + " "):
        return False
    return version in flags.split()
