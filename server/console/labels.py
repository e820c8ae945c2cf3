"""What the console calls the system's values, in the page's language."""

from __future__ import annotations

from flask_babel import gettext
from flask_babel import lazy_gettext as _

__all__ = ["STATUS", "CLOCK", "URGENCY", "ROLE", "countdown", "Words"]

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
    return Words().countdown(row)


class Words:
    """The words of a list's rows in the page's language, each looked up in the catalog
    once when made — once a page — so that a row's words cost a dict look-up and a
    ``%``, not a catalog look-up each (the board's 50 rows asked the catalog ~10 times
    a row). Flask-Babel's ``gettext(text, **values)`` is the translation ``% values``:
    the same text."""

    def __init__(self) -> None:
        self.status = {name: str(word) for name, word in STATUS.items()}
        self.clock = {name: str(word) for name, word in CLOCK.items()}
        self.urgency = {name: str(word) for name, word in URGENCY.items()}
        self._late, self._left = gettext("late %(time)s"), gettext("%(time)s left")
        self._hours, self._days = gettext("%(h)sh %(m)sm"), gettext("%(n)sd")

    def countdown(self, row: dict) -> str:
        minutes, state = row["minutes"], row["clock"]
        if minutes is None or state not in ("on_time", "at_risk", "late"):
            return self.clock[state]
        if state == "late":
            return self._late % {"time": self._span(-minutes)}
        return self._left % {"time": self._span(minutes)}

    def _span(self, minutes: int) -> str:
        days, rest = divmod(minutes, 1440)
        clock = self._hours % {"h": rest // 60, "m": rest % 60}
        return f"{self._days % {'n': days}} {clock}" if days else clock
