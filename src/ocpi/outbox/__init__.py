"""Store and forward: the node's one way of sending its objects to partners.

A write of an object the node owns inserts one message per subscribed partner
in the same transaction (``publish.publish``); a worker delivers them FIFO per
partner and retries until the partner says yes (``worker.OutboxWorker``).
See ``docs/outbox.md``.
"""

from . import held as _held  # noqa: F401  (registers the hook that wakes held messages)
from . import publish as _publish  # noqa: F401  (registers the store's own-write hook)
