"""What the desk's pages (intake, conflicts, follow-ups, complaints) call the system's values."""

from __future__ import annotations

from flask_babel import lazy_gettext as _

__all__ = ["CATEGORY", "CHANNEL", "LEVEL", "RATING", "CHOICE", "COMPLAINT_STATUS", "FIELD"]

#: 004 §6
CATEGORY = {"A": _("A · paid service"), "B": _("B · contract service"), "C": _("C · free warranty service"),
            "D": _("D · internal work")}
CHANNEL = {"phone": _("phone"), "web": _("web"), "email": _("email"), "on_site": _("on site")}
#: the four levels of a follow-up item (004 §25), 1 poor … 4 very good
LEVEL = {1: _("poor"), 2: _("fair"), 3: _("good"), 4: _("very good")}
#: the four follow-up items
RATING = {"attitude": _("Attitude"), "skill": _("Skill"), "arrival_time": _("Arrival time"),
          "follow_through": _("Follow-through")}
CHOICE = {"kept": _("Keep the value that won"), "lost": _("Restore the value that lost"),
          "value": _("Set another value")}
COMPLAINT_STATUS = {"open": _("open"), "resolved": _("resolved"), "overdue": _("overdue"), "all": _("all")}
#: the fields a conflict is most often about, by name; others show as stored
FIELD = {"status": _("status"), "assignee_id": _("engineer"), "cancel_reason": _("cancel reason"),
         "fault_description": _("fault"), "urgency": _("urgency"), "zone": _("zone"), "deadline": _("deadline"),
         "category": _("category"), "diagnosis": _("diagnosis"), "actions": _("actions"), "_deleted": _("deleted")}
