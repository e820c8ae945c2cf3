"""Who works the property test's day, on which devices and clocks, and the stock room
the day starts with: the setting ``tests/field_actions.py``'s work and
``tests/test_property_sync.py``'s machine both read.
"""

from __future__ import annotations

from hypothesis import strategies as st

#: name → role; one engineer's phone runs ten minutes fast (the server corrects his
#: stamps by the skew it measures at each push). Sun is the department's manager: he
#: closes signed tickets, settles conflicts at head office, approves and pays.
PEOPLE = {"desk": "desk", "wang": "engineer", "chen": "engineer", "liu": "engineer", "zhao": "depot",
          "sun": "manager"}
ENGINEERS = ("wang", "chen", "liu")
#: device → whose it is: everyone has a phone (named after them); Wang also works on a
#: tablet, so one person's own devices race on the same rows.
DEVICES = {**{name: name for name in PEOPLE}, "wang_tablet": "wang"}
FAST_CLOCK = {"liu": 10 * 60_000}
HOUR, DAY = 3_600_000, 86_400_000
#: the server's clock tolerance (``DomainConfig.clock_tolerance_ms``): a phone measured
#: this close to it is taken as right and its stamps are not moved; beyond it they are
#: moved by the measured skew
TOLERANCE_MS = 10_000
#: how far a device's clock is off when the day starts, drawn per device (the first,
#: "as usual", is ``FAST_CLOCK``'s or right): a few seconds either way inside the
#: tolerance, just beyond it, minutes beyond it
CLOCK_ERRORS = (None, 4_000, -4_000, TOLERANCE_MS - 500, -(TOLERANCE_MS - 500), TOLERANCE_MS + 1_500,
                -(TOLERANCE_MS + 1_500), 2 * 60_000, -2 * 60_000, 10 * 60_000, -10 * 60_000)
#: how a phone's clock is set while its engineer works offline, by hand or by a wrong
#: network time; or set right again (``None``). Small steps too, of a few seconds
#: (network time correcting it): the engine takes out every jump over a second.
CLOCK_SETTINGS = {"back three days": -3 * DAY, "back five hours": -5 * HOUR, "on two hours": 2 * HOUR,
                  "on a day": DAY, "set right": None, "on five seconds": 5_000, "back twelve seconds": -12_000}
#: the test server's blob size limit (``BLOB_MAX_BYTES``): small, so that a photo taken
#: at full size is a few kilobytes
BLOB_LIMIT = 4096
#: the stock room every day starts with (``_yesterday``): two parts in the catalog, the
#: depot Zhao keeps, and each engineer's van
DEPOT_ID = "depot-main"
DEPOT = "loc-depot"
VAN_OF = {f"u-{name}": f"loc-van-{name}" for name in ENGINEERS}
#: a drive belt comes back to the depot as an old part once replaced; a fuse does not;
#: hydraulic hose is sold by the metre, so it is drawn and fitted in fractions (0.5 m, 1.25 m)
RETURNABLE_PART, PART, HOSE = "part-belt", "part-fuse", "part-hose"
#: the catalog's units a part may be counted in fractions of (the registry's ``qty`` is
#: real; the unit says whether a fraction makes sense)
FRACTIONAL_UNITS = frozenset({"m", "kg", "L"})
#: the company of the day lets its desk approve requisitions (the default is the manager)
DEPLOYMENT = {"approvers": {"requisition": ["desk", "manager"]}}
#: whom the desk assigns a new ticket to (no one, sometimes)
ASSIGNEE_IDS = (*(f"u-{e}" for e in ENGINEERS), None)
ASSIGNEES = st.sampled_from(ASSIGNEE_IDS)

#: the devices of head office (the desk, the manager) and the keeper at the depot, and those in the field
INDOOR_WORKERS = sorted(device for device, person in DEVICES.items()
                        if PEOPLE[person] in ("desk", "depot", "manager"))
FIELD_WORKERS = sorted(device for device, person in DEVICES.items() if PEOPLE[person] == "engineer")
