"""The consumptions still open, stored and kept by the database: the parts-ledger report
reads the few open ones instead of deciding the rule for every consumption of the year
(docs/decisions.md, "Open consumptions are stored").

``open_consumption`` holds the id of each consumption that is open by the rule of
:mod:`server.domain.writeoff` — a live ``consume`` movement whose ticket holds no
current signature (live, not stale, its image arrived), or whose part is returnable
and whose old part (the return with the movement's id) is not received or disposed of.
Triggers decide it again, for the consumptions a write touches, whenever a row the rule
reads is written: the movement itself, its old-part return, a signature of its ticket,
a signature's image arriving, its part's ``returnable`` — whichever path wrote it and
in whatever order the records arrive, in the same transaction as the row.

With it, an index of the issues by the van they went to: the depot API's vans are
found a page at a time in van order without reading a year's issues.

Revision ID: 0017_open_consumption
Revises: 0016_report_instants
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_open_consumption"
down_revision = "0016_report_instants"
branch_labels = None
depends_on = None

#: the rule of server.domain.writeoff, over the movement ``m``
RULE = """m.kind = 'consume' AND NOT m.deleted AND (
  NOT EXISTS (SELECT 1 FROM signature s JOIN blobs b ON b.sha256 = s.blob_sha256
              WHERE s.ticket_id = m.ticket_id AND NOT s.deleted AND (s.stale IS NULL OR NOT s.stale))
  OR (EXISTS (SELECT 1 FROM part p WHERE p.id = m.part_id AND p.returnable)
      AND NOT EXISTS (SELECT 1 FROM old_part_return r
                      WHERE r.id = m.id AND NOT r.deleted AND r.status IN ('received', 'disposed'))))"""

_CONSUMED = "SELECT id FROM stock_movement WHERE kind = 'consume'"
#: per table the rule reads: the consumptions a row (``{row}``: OLD or NEW) decides, and
#: the columns whose change may change them (``None``: rows never updated)
_SOURCES = {
    "stock_movement": ("{row}.id", ("kind", "deleted", "ticket_id", "part_id")),
    "old_part_return": ("{row}.id", ("status", "deleted")),
    "signature": (f"{_CONSUMED} AND ticket_id = {{row}}.ticket_id", ("ticket_id", "deleted", "stale", "blob_sha256")),
    "blobs": ("SELECT m.id FROM stock_movement m JOIN signature s ON s.ticket_id = m.ticket_id "
              "WHERE m.kind = 'consume' AND s.blob_sha256 = {row}.sha256", None),
    "part": (f"{_CONSUMED} AND part_id = {{row}}.id", ("returnable",)),
}


def _decide(consumptions: str) -> str:
    """Statements deciding these consumptions (SQL naming their ids) again."""
    return (f"DELETE FROM open_consumption WHERE movement_id IN ({consumptions});\n"
            f"INSERT INTO open_consumption (movement_id) SELECT m.id FROM stock_movement m "
            f"WHERE m.id IN ({consumptions}) AND {RULE};\n")


def _changed(columns: tuple[str, ...], differ: str) -> str:
    return " OR ".join(f"OLD.{c} {differ} NEW.{c}" for c in columns)


def _postgresql() -> list[str]:
    out = []
    for table, (consumptions, columns) in _SOURCES.items():
        old, new = consumptions.format(row="OLD"), consumptions.format(row="NEW")
        out.append(f"""CREATE FUNCTION open_consumption_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP <> 'INSERT' THEN
           {_decide(old)}
         END IF;
         IF TG_OP <> 'DELETE' THEN
           {_decide(new)}
         END IF;
         RETURN NULL;
       END $$""")
        out.append(f"CREATE TRIGGER open_consumption_{table} AFTER INSERT OR DELETE ON {table} "
                   f"FOR EACH ROW EXECUTE FUNCTION open_consumption_{table}()")
        if columns:
            out.append(f"CREATE TRIGGER open_consumption_{table}_update AFTER UPDATE ON {table} FOR EACH ROW "
                       f"WHEN ({_changed(columns, 'IS DISTINCT FROM')}) EXECUTE FUNCTION open_consumption_{table}()")
    return out


def _sqlite() -> list[str]:
    out = []
    for table, (consumptions, columns) in _SOURCES.items():
        old, new = consumptions.format(row="OLD"), consumptions.format(row="NEW")
        out.append(f"CREATE TRIGGER open_consumption_{table}_insert AFTER INSERT ON {table} BEGIN\n{_decide(new)}END")
        out.append(f"CREATE TRIGGER open_consumption_{table}_delete AFTER DELETE ON {table} BEGIN\n{_decide(old)}END")
        if columns:
            out.append(f"CREATE TRIGGER open_consumption_{table}_update AFTER UPDATE ON {table} "
                       f"WHEN {_changed(columns, 'IS NOT')} BEGIN\n{_decide(old)}{_decide(new)}END")
    return out


#: the issues, by the van they went to: the depot's vans a page at a time
_ISSUED = sa.text("kind = 'issue'")


def upgrade() -> None:
    op.create_index("stock_movement_issued_to", "stock_movement", ["to_location_id"], postgresql_where=_ISSUED,
                    sqlite_where=_ISSUED)
    op.create_table("open_consumption", sa.Column("movement_id", sa.String(64), primary_key=True))
    op.execute(f"INSERT INTO open_consumption (movement_id) SELECT m.id FROM stock_movement m WHERE {RULE}")
    for statement in (_postgresql() if op.get_bind().dialect.name == "postgresql" else _sqlite()):
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, (_, columns) in _SOURCES.items():
        if postgresql:
            op.execute(f"DROP TRIGGER open_consumption_{table} ON {table}")
            if columns:
                op.execute(f"DROP TRIGGER open_consumption_{table}_update ON {table}")
            op.execute(f"DROP FUNCTION open_consumption_{table}()")
        else:
            for op_name in ("insert", "delete", *(("update",) if columns else ())):
                op.execute(f"DROP TRIGGER open_consumption_{table}_{op_name}")
    op.drop_table("open_consumption")
    op.drop_index("stock_movement_issued_to", "stock_movement")
