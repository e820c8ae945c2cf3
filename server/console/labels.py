"""What the console calls the system's values, in the page's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _

__all__ = ["STATUS", "CLOCK", "URGENCY", "ROLE"]

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
