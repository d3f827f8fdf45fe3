"""Charts: where a person would rather look than read.

Messages delivered and failed per partner, hour by hour, and sessions and kWh
per day, as SVG drawn here (``console/charts.py``), each with its numbers in a
table below it. What each figure counts is in ``services/history.py``.
"""

from starlette.responses import Response

from ...core.enums import RoleEnum
from ...services import history
from ..charts import bar_chart
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
        busiest = max(range(len(p.hours)), key=lambda i: p.delivered[i] + p.failed[i])
        desc = (f"{p.total_delivered} delivered and {p.total_failed} failed in the last "
                f"{hours} hours (UTC)")
        if p.total_delivered or p.total_failed:
            desc += f"; the busiest hour began {p.hours[busiest]:%Y-%m-%d %H:00}"
        delivery_charts.append((p, bar_chart(
            f"Messages to {p.name}, per hour", desc + ".", hour_labels,
            [("delivered", p.delivered), ("failed", p.failed)])))
    day_labels = [d.day.strftime("%m-%d") for d in per_day]
    whose = "our" if side == "ours" else "partners'"
    n_sessions, n_kwh = sum(d.sessions for d in per_day), sum(d.kwh for d in per_day)
    sessions_chart = bar_chart(
        f"Sessions per day, {whose}", f"{n_sessions} sessions of {whose} started in the last "
        f"{days} days (UTC).", day_labels, [("sessions", [d.sessions for d in per_day])])
    kwh_chart = bar_chart(
        f"kWh per day, {whose}", f"{n_kwh} kWh charged in the {whose} sessions started in "
        f"the last {days} days.", day_labels, [("kWh", [d.kwh for d in per_day])])
    return c.render("charts.html", hours=hours, days=days, side=side, hour_choices=HOURS,
                    day_choices=DAYS, delivery_charts=delivery_charts, per_day=per_day,
                    sessions_chart=sessions_chart, kwh_chart=kwh_chart,
                    n_sessions=n_sessions, n_kwh=n_kwh)
