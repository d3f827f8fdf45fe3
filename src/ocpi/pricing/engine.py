"""One pricing run over a timeline: cut it where any restriction can change,
find per segment and dimension the first element whose restrictions hold, add
the segment's quantity to that element's component, then apply step_size once
per session. Cost: linear in periods plus boundaries, times elements."""

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from .decimals import MICROS_PER_SECOND, ZERO, Quantity, ceil_to_step, share
from .errors import PricingError
from .periods import Span
from .rules import Rule
from .tariff import Component, Element
from .timebase import LocalClock

TIME_BASED = ("TIME", "PARKING_TIME")
CROSSING_PLACE = Decimal("1e-30")  # µs: where a kWh crossing instant is rounded


@dataclass(slots=True)
class LineTally:
    start: Quantity
    end: Quantity
    quantity: Quantity


@dataclass(slots=True)
class Run:
    """What one timeline consumed, per component (kWh as Decimal, time in µs)."""

    quantities: dict[Component, Quantity] = field(default_factory=dict)
    lines: dict[tuple[int, str, int, bool], LineTally] = field(default_factory=dict)
    flat: tuple[Component, int, Quantity] | None = None  # FLAT: (component, period, at)
    last: dict[str, tuple[Component, Span]] = field(default_factory=dict)
    last_time_based: tuple[Component, Span] | None = None
    energy: Decimal = ZERO
    charging: Quantity = 0
    parking: Quantity = 0

    def billed(self, dimension: str) -> Quantity:
        return sum((q for c, q in self.quantities.items() if c.dimension == dimension), 0)

    def add(self, component: Component, span: Span, start: Quantity, end: Quantity,
            quantity: Quantity, step_size: bool = False) -> None:
        self.quantities[component] = self.quantities.get(component, 0) + quantity
        key = (span.index, component.dimension, component.element, step_size)
        tally = self.lines.get(key)
        if tally is None:
            self.lines[key] = LineTally(start, end, quantity)
        else:
            tally.end, tally.quantity = end, tally.quantity + quantity


# segments x elements checked for one session: a real one needs a few hundred; the
# bound keeps a hostile tariff (a window per minute) from holding a core for long
MAX_WORK = 500_000


def run(spans: Sequence[Span], elements: Sequence[Element], clock: LocalClock | None,
        origin: int) -> Run:
    """Price ``spans`` (time ordered, contiguous) with ``elements`` (in priority
    order); ``origin`` is where min/max_duration count from."""
    first, last = spans[0].start, spans[-1].end
    rules = [Rule(e, clock, origin, first, last) for e in elements]
    candidates: dict[str, list[tuple[int, Component]]] = {
        d: [(n, r.element.components[d]) for n, r in enumerate(rules)
            if d in r.element.components]
        for d in ("ENERGY", "TIME", "PARKING_TIME", "FLAT")}
    cuts, crossings = _cut_points(spans, rules, first, last)
    work = (len(cuts) + len(spans)) * len(rules)
    if work > MAX_WORK:
        raise PricingError(f"{len(spans)} periods cut {len(cuts)} times under {len(rules)} "
                           f"elements: more than the {MAX_WORK:,} segment checks the engine "
                           "makes for one session")
    result = Run()
    cumulative = ZERO
    for span in spans:
        length = span.end - span.start
        bounds = [span.start, *cuts[bisect_right(cuts, span.start):bisect_left(cuts, span.end)],
                  span.end]
        # quantities at each boundary, counted from the span's start; a segment's share
        # is the difference, so the span's segments add up to its volumes exactly
        energy_at, charging_at = ZERO, 0
        for k in range(len(bounds) - 1):
            a, b = bounds[k], bounds[k + 1]
            if k == len(bounds) - 2:
                energy_to, charging_to = span.energy, span.charging
            else:
                crossed = crossings.get(b)
                energy_to = crossed - cumulative if crossed is not None \
                    else share(span.energy, b - span.start, length)
                charging_to = share(span.charging, b - span.start, length)
            energy, charging = energy_to - energy_at, charging_to - charging_at
            parking = max(b - a - charging, 0)
            _price_segment(result, candidates, rules, span, a, b,
                           2 * (cumulative + energy_at) + energy, energy, charging, parking)
            energy_at, charging_at = energy_to, charging_to
        cumulative += span.energy
    return result


def _price_segment(result: Run, candidates: dict[str, list[tuple[int, Component]]],
                   rules: list[Rule], span: Span, a: Quantity, b: Quantity, kwh2: Decimal,
                   energy: Quantity, charging: Quantity, parking: Quantity) -> None:
    verdicts: list[bool | None] = [None] * len(rules)
    mid2 = a + b

    def pick(dimension: str) -> Component | None:
        for n, component in candidates[dimension]:
            verdict = verdicts[n]
            if verdict is None:
                verdict = verdicts[n] = rules[n].holds(mid2, kwh2, span)
            if verdict:
                return component
        return None

    result.energy += energy
    result.charging += charging
    result.parking += parking
    if result.flat is None and candidates["FLAT"]:
        flat = pick("FLAT")
        if flat is not None:
            result.flat = (flat, span.index, a)
    for dimension, quantity in (("ENERGY", energy), ("TIME", charging),
                                ("PARKING_TIME", parking)):
        if quantity > 0 and candidates[dimension]:
            component = pick(dimension)
            if component is not None:
                result.add(component, span, a, b, quantity)
                result.last[dimension] = (component, span)
                if dimension in TIME_BASED:  # parking after charging within a segment
                    result.last_time_based = (component, span)


def _cut_points(spans: Sequence[Span], rules: list[Rule], first: int, last: int
                ) -> tuple[list[Quantity], dict[Quantity, Decimal]]:
    """Every instant inside the timeline where a restriction may change, and of those
    the ones where the session's energy reaches a min/max_kwh (with that amount)."""
    cuts: set[Quantity] = set()
    for rule in rules:
        cuts.update(t for t in rule.boundaries() if first < t < last)
    crossings: dict[Quantity, Decimal] = {}
    limits = sorted({v for rule in rules for v in rule.kwh_limits})
    if limits:
        cumulative = ZERO
        for span in spans:
            after = cumulative + span.energy
            for limit in limits:
                if cumulative < limit < after and span.end > span.start:
                    # energy is spread evenly over the span; the offset is rounded at a
                    # fixed place so a split span yields the very same instant
                    offset = ((limit - cumulative) * (span.end - span.start) / span.energy
                              ).quantize(CROSSING_PLACE)
                    at = span.start + offset
                    if first < at < last:
                        cuts.add(at)
                        crossings[at] = limit
            cumulative = after
    return sorted(cuts), crossings


def apply_step_size(result: Run, version: str) -> None:
    """step_size, once per session, on session totals (2.2.1/2.3.0 CDR module
    "step_size"): ENERGY's total rounded with the last ENERGY component used;
    of TIME and PARKING_TIME only the dimension of the last time-based period
    priced, its total rounded with that period's component (ocpi/ocpi#546,
    #396, #386). 2.1.1 words step_size per dimension only ("this unit will be
    billed in this step_size blocks"), so there each of the three is rounded."""
    dimensions = ["ENERGY"]
    if version == "2.1.1":
        dimensions += TIME_BASED
    elif result.last_time_based is not None:
        dimensions.append(result.last_time_based[0].dimension)
    for dimension in dimensions:
        found = result.last.get(dimension)
        if found is None:
            continue
        _round_up(result, *found)


def _round_up(result: Run, component: Component, span: Span) -> None:
    if component.step_size <= 0:
        return
    total = result.billed(component.dimension)
    if total <= 0:
        return
    step: Quantity = Decimal(component.step_size) / 1000 if component.dimension == "ENERGY" \
        else component.step_size * MICROS_PER_SECOND
    extra = ceil_to_step(total, step) - total
    if extra:
        result.add(component, span, span.end, span.end, extra, step_size=True)
