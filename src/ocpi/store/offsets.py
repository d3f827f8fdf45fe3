"""Keyset lookups behind the OCPI offset API.

Partners page with ``offset``; walking 90,000 index entries to reach a deep
page costs ten times the page itself. Rows keep their ``seq`` and new ones
come after the old, so the offset of a page served a moment ago still starts
after the same ``seq``. Remembering it (for the page and the one following)
turns a partner's next request, or a repeat, into a keyset lookup. Deletes
shift offsets: a delete forgets everything, and an entry lives one minute,
so another process's delete is seen within that.
"""

import time
from collections import OrderedDict

_TTL = 60.0
_SIZE = 4096


class OffsetMemo:
    def __init__(self) -> None:
        self._seen: OrderedDict[tuple[str, str, int], tuple[int, float]] = OrderedDict()

    def after(self, table: str, role: str, offset: int) -> int | None:
        """The seq a page at ``offset`` starts after, when known and fresh."""
        found = self._seen.get((table, role, offset))
        if found is None:
            return None
        if time.monotonic() - found[1] > _TTL:
            del self._seen[(table, role, offset)]
            return None
        return found[0]

    def note(self, table: str, role: str, offset: int, after: int) -> None:
        key = (table, role, offset)
        self._seen[key] = (after, time.monotonic())
        self._seen.move_to_end(key)
        if len(self._seen) > _SIZE:
            self._seen.popitem(last=False)

    def forget(self) -> None:
        self._seen.clear()
