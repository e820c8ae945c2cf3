"""What the head-office figures read of each ticket, kept by the database beside the
tickets (``ticket_facts``, migration ``0019_ticket_facts``; docs/decisions.md, "The figures
read a narrow copy of the tickets").

A ticket's row holds its report's texts, diagnosis, clock and stamps (about 1.8 kB); a
year's quality figures read a dozen short columns of 100,000 of them, and on PostgreSQL
that table outgrows the shared buffers. ``ticket_facts`` holds, per ticket, the columns
the figures filter on, copied as they are, and what they would otherwise work out per
row at every request:

* ``reported_ms``, ``completed_ms``: the ticket's report and completion as local
  instants (ms), as :func:`server.domain.moments.stored_moment` reads them — the time
  field, a date alone at the start of its local day, else the server stamp;
* ``arrivals``: the live arrivals its work log holds (first-time fix);
* ``next_report_ms``: the first report after its completion of another live, not
  cancelled ticket of the same equipment (repeat repairs: a repeat when it falls within
  the window), where the figures had sorted a year of reports and completions.

Triggers on ``ticket`` and ``work_log`` keep it in the same transaction as the rows,
whichever path wrote them (:func:`triggers`). A date alone is read at the deployment's
offset, which the database holds in ``report_clock``: :func:`agree_offset` brings it to
the configuration before a report runs, and works every ticket out again if it differed.
"""

from __future__ import annotations

import sqlalchemy as sa

from ..domain.moments import HOUR_MS
from ..tables import report_clock

__all__ = ["COPIED", "fill", "triggers", "drop_triggers", "agree_offset"]

#: the ticket's columns copied as they are
COPIED = ("equipment_id", "assignee_id", "zone", "category", "status", "deleted", "carried_back", "sla_state",
          "deadline")
_WORKED_OUT = ("reported_ms", "completed_ms", "arrivals")
_LOG_COLUMNS = ("ticket_id", "event", "deleted")
#: the ticket's columns whose change may change its facts or its equipment's repeats
_READ = ("id", *COPIED, "reported_at", "reported_at_ms", "device_time", "completed_at", "completed_at_ms",
         "updated_at")


class _Dialect:
    """The few words in which SQLite and PostgreSQL differ here."""

    def __init__(self, name: str):
        self.postgresql = name == "postgresql"
        self.false = "false" if self.postgresql else "0"
        self.differs = "IS DISTINCT FROM" if self.postgresql else "IS NOT"

    def stamp_ms(self, column: str) -> str:
        if self.postgresql:
            return f"CAST(round(date_part('epoch', {column}) * 1000) AS BIGINT)"
        return f"CAST(round((julianday({column}) - 2440587.5) * 86400000) AS INTEGER)"


def _moment(row: str, field: str, stamp: str, d: _Dialect) -> str:
    """SQL: the local instant of ``row``'s time field, a date alone at the offset held in
    ``report_clock``, else its server stamp."""
    return (f"COALESCE({row}.{field}_ms - CASE WHEN length({row}.{field}) = 10 "
            f"THEN (SELECT offset_ms FROM report_clock) ELSE 0 END, {d.stamp_ms(f'{row}.{stamp}')})")


def _arrivals(ticket: str, d: _Dialect) -> str:
    return (f"(SELECT count(*) FROM work_log w WHERE w.ticket_id = {ticket} "
            f"AND w.event = 'arrived' AND w.deleted IS {d.false})")


def _values(row: str, d: _Dialect) -> list[str]:
    return [f"{row}.id", *(f"{row}.{c}" for c in COPIED), _moment(row, "reported_at", "device_time", d),
            _moment(row, "completed_at", "updated_at", d), _arrivals(f"{row}.id", d)]


_COLUMNS = ", ".join(("id", *COPIED, *_WORKED_OUT))


def _repeats(equipment: str, d: _Dialect, ticket: str = "NULL") -> str:
    """SQL: work out again the next report after each completion of these equipment, and
    of ``ticket`` (one whose equipment was just cleared has none now)."""
    return (f"UPDATE ticket_facts SET next_report_ms = (SELECT min(o.reported_ms) FROM ticket_facts o "
            f"WHERE o.equipment_id = ticket_facts.equipment_id AND o.id <> ticket_facts.id "
            f"AND o.deleted IS {d.false} AND o.status {d.differs} 'cancelled' "
            f"AND o.reported_ms > ticket_facts.completed_ms) WHERE equipment_id IN ({equipment}) OR id = {ticket};\n")


def _upsert(d: _Dialect) -> str:
    updates = ", ".join(f"{c} = excluded.{c}" for c in (*COPIED, *_WORKED_OUT))
    return (f"INSERT INTO ticket_facts ({_COLUMNS}) VALUES ({', '.join(_values('NEW', d))}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates};\n")


def _recount(row: str, d: _Dialect) -> str:
    ticket = f"{row}.ticket_id"
    return f"UPDATE ticket_facts SET arrivals = {_arrivals(ticket, d)} WHERE id = {ticket};\n"


def _changed(columns, d: _Dialect) -> str:
    return " OR ".join(f"OLD.{c} {d.differs} NEW.{c}" for c in columns)


def fill(conn: sa.Connection) -> None:
    """Work every ticket's facts out from the tickets and work logs (the migration, and a
    changed offset)."""
    d = _Dialect(conn.dialect.name)
    conn.exec_driver_sql("DELETE FROM ticket_facts")
    conn.exec_driver_sql(f"INSERT INTO ticket_facts ({_COLUMNS}) SELECT {', '.join(_values('ticket', d))} FROM ticket")
    conn.exec_driver_sql(_repeats("SELECT equipment_id FROM ticket_facts", d).rstrip(";\n"))


def triggers(dialect_name: str) -> list[str]:
    """The statements creating the triggers that keep ``ticket_facts``."""
    d = _Dialect(dialect_name)
    if d.postgresql:
        return [
            f"""CREATE FUNCTION ticket_facts_ticket() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' OR OLD.id IS DISTINCT FROM NEW.id THEN
           DELETE FROM ticket_facts WHERE id = OLD.id;
         END IF;
         IF TG_OP <> 'DELETE' THEN
           {_upsert(d)}
         END IF;
         {_repeats("OLD.equipment_id, NEW.equipment_id", d, "NEW.id")}
         RETURN NULL;
       END $$""",  # OLD and NEW are NULL where TG_OP has none
            "CREATE TRIGGER ticket_facts AFTER INSERT OR DELETE ON ticket FOR EACH ROW "
            "EXECUTE FUNCTION ticket_facts_ticket()",
            f"CREATE TRIGGER ticket_facts_update AFTER UPDATE ON ticket FOR EACH ROW "
            f"WHEN ({_changed(_READ, d)}) EXECUTE FUNCTION ticket_facts_ticket()",
            f"""CREATE FUNCTION ticket_facts_work_log() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP <> 'INSERT' THEN
           {_recount('OLD', d)}
         END IF;
         IF TG_OP <> 'DELETE' THEN
           {_recount('NEW', d)}
         END IF;
         RETURN NULL;
       END $$""",
            "CREATE TRIGGER ticket_facts AFTER INSERT OR DELETE ON work_log FOR EACH ROW "
            "EXECUTE FUNCTION ticket_facts_work_log()",
            f"CREATE TRIGGER ticket_facts_update AFTER UPDATE ON work_log FOR EACH ROW "
            f"WHEN ({_changed(_LOG_COLUMNS, d)}) EXECUTE FUNCTION ticket_facts_work_log()",
        ]
    return [
        f"CREATE TRIGGER ticket_facts_insert AFTER INSERT ON ticket BEGIN\n{_upsert(d)}{_repeats('NEW.equipment_id', d, 'NEW.id')}END",
        f"CREATE TRIGGER ticket_facts_delete AFTER DELETE ON ticket BEGIN\n"
        f"DELETE FROM ticket_facts WHERE id = OLD.id;\n{_repeats('OLD.equipment_id', d)}END",
        f"CREATE TRIGGER ticket_facts_update AFTER UPDATE ON ticket WHEN {_changed(_READ, d)} BEGIN\n"
        f"DELETE FROM ticket_facts WHERE id = OLD.id AND OLD.id IS NOT NEW.id;\n{_upsert(d)}"
        f"{_repeats('OLD.equipment_id, NEW.equipment_id', d, 'NEW.id')}END",
        f"CREATE TRIGGER ticket_facts_work_log_insert AFTER INSERT ON work_log BEGIN\n{_recount('NEW', d)}END",
        f"CREATE TRIGGER ticket_facts_work_log_delete AFTER DELETE ON work_log BEGIN\n{_recount('OLD', d)}END",
        f"CREATE TRIGGER ticket_facts_work_log_update AFTER UPDATE ON work_log WHEN {_changed(_LOG_COLUMNS, d)} BEGIN\n"
        f"{_recount('OLD', d)}{_recount('NEW', d)}END",
    ]


def drop_triggers(dialect_name: str) -> list[str]:
    """The statements dropping what :func:`triggers` creates."""
    if dialect_name == "postgresql":
        return [*(f"DROP TRIGGER {name} ON {table}" for table in ("ticket", "work_log")
                  for name in ("ticket_facts", "ticket_facts_update")),
                "DROP FUNCTION ticket_facts_ticket()", "DROP FUNCTION ticket_facts_work_log()"]
    return [f"DROP TRIGGER ticket_facts_{name}" for name in
            ("insert", "delete", "update", "work_log_insert", "work_log_delete", "work_log_update")]


def agree_offset(engine: sa.Engine, offset_hours: int) -> None:
    """Bring the offset the database reads a date alone at to the deployment's, working
    every ticket's facts out again when it differed or was never set (once: the first
    report after the offset was configured); a look at one row otherwise."""
    offset_ms = int(offset_hours) * HOUR_MS
    with engine.connect() as conn:
        if conn.execute(sa.select(report_clock.c.offset_ms)).scalar() == offset_ms:
            return
    with engine.begin() as conn:  # the row's key makes two agreeing at once write it once each
        changed = conn.execute(sa.text(
            "INSERT INTO report_clock (id, offset_ms) VALUES (1, :offset) ON CONFLICT (id) "
            "DO UPDATE SET offset_ms = excluded.offset_ms WHERE report_clock.offset_ms <> excluded.offset_ms"),
            {"offset": offset_ms})
        if changed.rowcount:
            fill(conn)
