"""The outbox figures in the Prometheus text format (``GET /metrics``)."""

from ..store.database import Database
from .admin import status
from .queue import now
from .worker import Counters

_HELP = {
    "ocpi_outbox_pending": ("gauge", "Messages waiting to be delivered to the partner."),
    "ocpi_outbox_dead": ("gauge", "Messages the partner refused, set aside."),
    "ocpi_outbox_held": ("gauge", "Messages waiting for a party the hub reports OFFLINE."),
    "ocpi_outbox_oldest_pending_age_seconds": ("gauge", "Age of the oldest waiting message."),
    "ocpi_outbox_head_attempts": ("gauge", "Failed attempts of the message at the head."),
    "ocpi_outbox_delivered_total": ("counter", "Messages delivered by this process."),
    "ocpi_outbox_retries_total": ("counter", "Failed attempts that will be retried."),
    "ocpi_outbox_dead_total": ("counter", "Messages set aside by this process."),
}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def render(db: Database, counters: Counters | None) -> str:
    rows = await status(db)
    at = now()
    samples: dict[str, list[str]] = {name: [] for name in _HELP}
    for s in rows:
        lbl = f'{{partner="{_label(s.name)}"}}'
        samples["ocpi_outbox_pending"].append(f"ocpi_outbox_pending{lbl} {s.pending}")
        samples["ocpi_outbox_dead"].append(f"ocpi_outbox_dead{lbl} {s.dead}")
        samples["ocpi_outbox_held"].append(f"ocpi_outbox_held{lbl} {s.held}")
        age = (at - s.oldest).total_seconds() if s.oldest else 0.0
        samples["ocpi_outbox_oldest_pending_age_seconds"].append(
            f"ocpi_outbox_oldest_pending_age_seconds{lbl} {age:.3f}")
        samples["ocpi_outbox_head_attempts"].append(f"ocpi_outbox_head_attempts{lbl} "
                                                    f"{s.attempts if s.pending else 0}")
    c = counters or Counters()
    samples["ocpi_outbox_delivered_total"].append(f"ocpi_outbox_delivered_total {c.delivered}")
    samples["ocpi_outbox_retries_total"].append(f"ocpi_outbox_retries_total {c.retried}")
    samples["ocpi_outbox_dead_total"].append(f"ocpi_outbox_dead_total {c.dead}")
    lines = []
    for name, (kind, text) in _HELP.items():
        lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}", *samples[name]]
    return "\n".join(lines) + "\n"
