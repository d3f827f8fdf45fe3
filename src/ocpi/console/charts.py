"""Bar charts as inline SVG, for where a person would rather look than read.

No script and no inline style (the console's Content-Security-Policy allows
neither): bars are SVG shapes whose colours come from ``console.css`` classes
(``series-0``, ``series-1``, ...; ``good``/``bad`` by name). The chart is an
``img`` for assistive technology with a title and a one-line summary; each bar
carries its own value as a tooltip. Show the numbers in a table beside it too.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

MAX_BARS = 400  # labels x series drawn at most; the rest is left out, and said so
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 42


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    kind: str = ""  # a CSS class: "good", "bad", or "" for the series' place


def _nice_top(peak: float) -> float:
    """The axis' top: 1, 2 or 5 times a power of ten at or above ``peak``."""
    if peak <= 0:
        return 1.0
    scale = 1.0
    while scale * 10 <= peak:
        scale *= 10
    while scale > peak:
        scale /= 10
    for step in (1, 2, 5, 10):
        if step * scale >= peak:
            return step * scale
    return 10 * scale


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 or value == int(value) else f"{value:,.2f}"


def bars(labels: Sequence[str], series: Sequence[Series], *, title: str, unit: str = "",
         width: int = WIDTH, height: int = HEIGHT) -> Markup:
    """A grouped bar chart: one group per label, one bar per series in each."""
    per_group = max(1, len(series))
    groups = min(len(labels), MAX_BARS // per_group)
    shown_labels = list(labels[:groups])
    values = [[max(0.0, float(v)) for v in list(s.values)[:groups]] for s in series]
    peak = max((v for vs in values for v in vs), default=0.0)
    top = _nice_top(peak)
    plot_w, plot_h = width - LEFT - RIGHT, height - TOP - BOTTOM
    group_w = plot_w / max(1, groups)
    bar_w = max(1.0, group_w * 0.8 / per_group)
    totals = ", ".join(f"{s.name} {_number(sum(vs))}{unit and ' ' + unit}"
                       for s, vs in zip(series, values, strict=True))
    summary = f"{groups} {'period' if groups == 1 else 'periods'}; in all: {totals or 'nothing'}"
    if groups < len(labels):
        summary += f" (the first {groups} of {len(labels)} shown)"
    out = [f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{escape(title)}: {escape(summary)}" '
           f'xmlns="http://www.w3.org/2000/svg">',
           f"<title>{escape(title)}</title>", f"<desc>{escape(summary)}</desc>"]
    for i in range(5):  # the value axis: 0, 1/4, 1/2, 3/4, top
        y = TOP + plot_h - plot_h * i / 4
        out.append(f'<line class="grid" x1="{LEFT}" x2="{width - RIGHT}" y1="{y:.1f}" '
                   f'y2="{y:.1f}"/>')
        out.append(f'<text class="axis" x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
                   f"{escape(_number(top * i / 4))}</text>")
    every = max(1, groups // 12)  # at most about 12 labels under the axis
    for g, label in enumerate(shown_labels):
        x0 = LEFT + g * group_w + group_w * 0.1
        for k, s in enumerate(series):
            v = values[k][g]
            h = plot_h * v / top
            kind = escape(s.kind or f"series-{k}")
            out.append(f'<rect class="bar {kind}" x="{x0 + k * bar_w:.1f}" '
                       f'y="{TOP + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
                       f"<title>{escape(label)}, {escape(s.name)}: {escape(_number(v))}"
                       f"{escape(unit and ' ' + unit)}</title></rect>")
        if g % every == 0:
            out.append(f'<text class="axis" x="{x0 + bar_w * per_group / 2:.1f}" '
                       f'y="{height - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>')
    for k, s in enumerate(series):  # the legend, under the labels
        x = LEFT + k * 150
        kind = escape(s.kind or f"series-{k}")
        out.append(f'<rect class="bar {kind}" x="{x}" y="{height - 14}" width="10" '
                   f'height="10"/><text class="legend" x="{x + 14}" y="{height - 5}">'
                   f"{escape(s.name)}</text>")
    out.append("</svg>")
    return Markup("".join(out))
