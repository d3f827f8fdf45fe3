"""Charts: where a person would rather look than read.

Messages delivered and failed per partner, hour by hour, and sessions and kWh
per day, as SVG drawn on the server (``console/charts.py``), each with its numbers in a
table below it. What each figure counts is in ``services/history.py``.
"""

from starlette.responses import Response

from ...core.enums import RoleEnum
from ...services import history
from ..charts import Series, bars
from ..web import Ctx, Page

page = Page("charts", "Charts")

HOURS = ("6", "12", "24", "48", "168")
DAYS = ("7", "14", "30", "90")


@page.view("")
async def index(c: Ctx) -> Response:
    hours = int(c.choice("hours", HOURS, "24"))
    days = int(c.choice("days", DAYS, "30"))
    side = c.choice("side", ("ours", "partners"), "ours")
    partners = await history.deliveries_per_hour(c.db, hours)
    role = str(RoleEnum.cpo) if side == "ours" else str(RoleEnum.emsp)
    per_day = await history.sessions_per_day(c.db, role, days)
    hour_labels = [h.strftime("%H:00" if hours <= 24 else "%m-%d %H:00")
                   for h in (partners[0].hours if partners else [])]
    delivery_charts = []
    for p in partners:
        caption = (f"{p.name}: {p.total_delivered} delivered, {p.total_failed} failed in the "
                   f"last {hours} hours")
        if p.total_delivered or p.total_failed:
            busiest = max(range(len(p.hours)), key=lambda i: p.delivered[i] + p.failed[i])
            caption += f"; the busiest hour began {p.hours[busiest]:%Y-%m-%d %H:00} UTC"
        delivery_charts.append((p, caption, bars(
            hour_labels, [Series("delivered", p.delivered, "good"),
                          Series("failed", p.failed, "bad")],
            title=f"Messages to {p.name}, per hour (UTC)", unit="messages")))
    day_labels = [d.day.strftime("%m-%d") for d in per_day]
    whose = "our" if side == "ours" else "partners'"
    n_sessions, n_kwh = sum(d.sessions for d in per_day), sum(d.kwh for d in per_day)
    sessions_chart = bars(day_labels, [Series("sessions", [d.sessions for d in per_day])],
                          title=f"Sessions per day, {whose} (UTC)", unit="sessions")
    kwh_chart = bars(day_labels, [Series("kWh", [float(d.kwh) for d in per_day])],
                     title=f"kWh per day, {whose} sessions (UTC)", unit="kWh")
    return c.render("charts.html", hours=hours, days=days, side=side, hour_choices=HOURS,
                    day_choices=DAYS, delivery_charts=delivery_charts, per_day=per_day,
                    sessions_chart=sessions_chart, kwh_chart=kwh_chart,
                    n_sessions=n_sessions, n_kwh=n_kwh)
