"""Sessions priced per second on the specification's most complex tariff.

    .venv/bin/python benchmarks/pricing.py [seconds]

The tariff is OCPI 2.3.0's ``tariff_4_complex.json`` (FLAT, three TIME elements on
current and day of week, two PARKING_TIME elements on time of day and day of
week). The session is a Friday evening in Amsterdam: 12 fifteen-minute charging
periods with varying current across the 18:00 parking boundary, then parking
past midnight into Saturday (crossing the Saturday 10:00-17:00 window's day
change too), priced again and again. Prints the result as JSON.
"""

import json
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from ocpi.core import jsonutil  # noqa: E402
from ocpi.pricing import price_session  # noqa: E402

TARIFF = ROOT / "tests" / "data" / "ocpi-examples" / "2.3.0" / "tariff_4_complex.json"


def session() -> tuple[list[dict[str, Any]], str]:
    """Friday 2024-01-12, 16:40 local (15:40 UTC): 3 h of charging in 15-minute
    periods, current alternating around the 32 A limits, then 16 h parking."""
    start = datetime(2024, 1, 12, 15, 40, tzinfo=UTC)
    periods = []
    for n in range(12):
        current = Decimal(16 if n % 3 else 40)
        periods.append({
            "start_date_time": (start + timedelta(minutes=15 * n)).strftime(
                "%Y-%m-%dT%H:%M:%SZ"),
            "dimensions": [{"type": "ENERGY", "volume": Decimal("2.75")},
                           {"type": "MIN_CURRENT", "volume": current},
                           {"type": "MAX_CURRENT", "volume": current},
                           {"type": "TIME", "volume": Decimal("0.25")}]})
    parked = start + timedelta(hours=3)
    periods.append({"start_date_time": parked.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "dimensions": [{"type": "PARKING_TIME", "volume": Decimal(16)}]})
    return periods, (parked + timedelta(hours=16)).strftime("%Y-%m-%dT%H:%M:%SZ")


def bench_pricing(seconds: float = 3.0) -> dict[str, Any]:
    tariff = jsonutil.loads(TARIFF.read_bytes())
    periods, end = session()
    cost = price_session(tariff, periods, end=end, time_zone="Europe/Amsterdam")
    count, began = 0, time.perf_counter()
    deadline = began + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):
            price_session(tariff, periods, end=end, time_zone="Europe/Amsterdam")
        count += 50
    elapsed = time.perf_counter() - began
    return {"sessions_per_second": round(count / elapsed, 1), "tariff": TARIFF.name,
            "periods": len(periods), "total_cost": str(cost.total_excl)}


if __name__ == "__main__":
    print(json.dumps(bench_pricing(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)))
