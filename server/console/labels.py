"""What the console calls the system's values, in the page's language."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _

__all__ = ["STATUS", "CLOCK", "URGENCY", "ROLE", "countdown"]

STATUS = {
    "reported": _("reported"), "dispatched": _("dispatched"), "accepted": _("accepted"),
    "travelling": _("travelling"), "on_site": _("on site"), "carried_back": _("carried back"),
    "in_workshop": _("in workshop"), "returned": _("returned"), "completed": _("completed"),
    "signed": _("signed"), "closed": _("closed"), "cancelled": _("cancelled"),
    "open": _("open"), "all": _("all"),
}
CLOCK = {"on_time": _("on time"), "at_risk": _("at risk"), "late": _("late"), "met": _("met"),
         "missed": _("missed")}
URGENCY = {"emergency": _("emergency"), "normal": _("normal")}
ROLE = {"desk": _("desk"), "manager": _("manager"), "depot": _("depot keeper")}


def countdown(row: dict) -> str:
    """A board row's SLA pill: how long is left, how late it is, or the state it ended in."""
    minutes, state = row["minutes"], row["clock"]
    if minutes is None or state not in ("on_time", "at_risk", "late"):
        return str(CLOCK[state])
    if state == "late":
        return gettext("late %(time)s", time=_span(-minutes))
    return gettext("%(time)s left", time=_span(minutes))


def _span(minutes: int) -> str:
    days, rest = divmod(minutes, 1440)
    clock = gettext("%(h)sh %(m)sm", h=rest // 60, m=rest % 60)
    return f"{gettext('%(n)sd', n=days)} {clock}" if days else clock
