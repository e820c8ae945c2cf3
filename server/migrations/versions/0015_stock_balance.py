"""The stock ledger's balance per location, part and condition, stored and kept by the
database: what the sum of every live stock movement gives, without summing a million of
them for each reconciliation (docs/decisions.md, "The stock balance is stored").

``stock_balance`` holds, per bin, the quantity (what came in less what went out) and how
many live movements name it (a bin no live movement names any more is no bin). Triggers
on ``stock_movement`` add each movement as it is inserted, take it back as it is
deleted, and do both when a write changes what it moves (locations, part, condition,
quantity, deleted): whichever path wrote the row — a push, the server's own writes, a
late record from a device that was offline — in the same transaction as the row. A
movement naming no part is kept under part ``''``; one with no quantity adds 0.

Revision ID: 0015_stock_balance
Revises: 0014_device_enrollment
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_stock_balance"
down_revision = "0014_device_enrollment"
branch_labels = None
depends_on = None

#: a write changes what the movement moves
_CHANGED = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in
                       ("to_location_id", "from_location_id", "part_id", "condition", "qty", "deleted"))

_POSTGRESQL = [
    """CREATE FUNCTION stock_balance_add(location text, part text, cond text, amount double precision, n bigint)
       RETURNS void LANGUAGE sql AS $$
         INSERT INTO stock_balance AS b (location_id, part_id, condition, qty, movements)
         SELECT location, coalesce(part, ''), coalesce(cond, 'new'), amount, n WHERE location IS NOT NULL
         ON CONFLICT (location_id, part_id, condition)
         DO UPDATE SET qty = b.qty + excluded.qty, movements = b.movements + excluded.movements
       $$""",
    """CREATE FUNCTION stock_balance_move() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP <> 'INSERT' AND NOT OLD.deleted THEN
           PERFORM stock_balance_add(OLD.to_location_id, OLD.part_id, OLD.condition, -coalesce(OLD.qty, 0), -1);
           PERFORM stock_balance_add(OLD.from_location_id, OLD.part_id, OLD.condition, coalesce(OLD.qty, 0), -1);
         END IF;
         IF TG_OP <> 'DELETE' AND NOT NEW.deleted THEN
           PERFORM stock_balance_add(NEW.to_location_id, NEW.part_id, NEW.condition, coalesce(NEW.qty, 0), 1);
           PERFORM stock_balance_add(NEW.from_location_id, NEW.part_id, NEW.condition, -coalesce(NEW.qty, 0), 1);
         END IF;
         RETURN NULL;
       END $$""",
    "CREATE TRIGGER stock_balance_insert AFTER INSERT OR DELETE ON stock_movement "
    "FOR EACH ROW EXECUTE FUNCTION stock_balance_move()",
    f"CREATE TRIGGER stock_balance_update AFTER UPDATE ON stock_movement FOR EACH ROW WHEN ({_CHANGED}) "
    "EXECUTE FUNCTION stock_balance_move()",
]


def _sqlite_add(row: str, sign: str, count: str) -> str:
    """SQLite: add ``row``'s movement (``OLD`` or ``NEW``) to both its bins."""
    upsert = ("ON CONFLICT (location_id, part_id, condition) "
              "DO UPDATE SET qty = qty + excluded.qty, movements = movements + excluded.movements;")
    return "".join(
        f"INSERT INTO stock_balance (location_id, part_id, condition, qty, movements) "
        f"SELECT {row}.{side}, coalesce({row}.part_id, ''), coalesce({row}.condition, 'new'), "
        f"{sign}{direction}coalesce({row}.qty, 0), {count} WHERE {row}.{side} IS NOT NULL AND NOT {row}.deleted "
        f"{upsert}\n"
        for side, direction in (("to_location_id", ""), ("from_location_id", "-1 * "))
    )


_SQLITE = [
    f"CREATE TRIGGER stock_balance_insert AFTER INSERT ON stock_movement BEGIN\n{_sqlite_add('NEW', '', '1')}END",
    f"CREATE TRIGGER stock_balance_delete AFTER DELETE ON stock_movement BEGIN\n{_sqlite_add('OLD', '-1 * ', '-1')}END",
    f"CREATE TRIGGER stock_balance_update AFTER UPDATE ON stock_movement WHEN {_CHANGED.replace('IS DISTINCT FROM', 'IS NOT')} "
    f"BEGIN\n{_sqlite_add('OLD', '-1 * ', '-1')}{_sqlite_add('NEW', '', '1')}END",
]

BACKFILL = """
INSERT INTO stock_balance (location_id, part_id, condition, qty, movements)
SELECT location_id, part_id, condition, sum(qty), count(*) FROM (
  SELECT to_location_id AS location_id, coalesce(part_id, '') AS part_id, coalesce(condition, 'new') AS condition,
         coalesce(qty, 0) AS qty
  FROM stock_movement WHERE NOT deleted AND to_location_id IS NOT NULL
  UNION ALL
  SELECT from_location_id, coalesce(part_id, ''), coalesce(condition, 'new'), -coalesce(qty, 0)
  FROM stock_movement WHERE NOT deleted AND from_location_id IS NOT NULL
) AS sides GROUP BY location_id, part_id, condition
"""


def upgrade() -> None:
    op.create_table(
        "stock_balance",
        sa.Column("location_id", sa.String(64), nullable=False),
        sa.Column("part_id", sa.String(64), nullable=False),
        sa.Column("condition", sa.String(10), nullable=False),
        sa.Column("qty", sa.Float(), nullable=False),
        sa.Column("movements", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("location_id", "part_id", "condition"),
    )
    op.execute(BACKFILL)
    for statement in (_POSTGRESQL if op.get_bind().dialect.name == "postgresql" else _SQLITE):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER stock_balance_update ON stock_movement")
        op.execute("DROP TRIGGER stock_balance_insert ON stock_movement")
        op.execute("DROP FUNCTION stock_balance_move()")
        op.execute("DROP FUNCTION stock_balance_add(text, text, text, double precision, bigint)")
    else:
        for name in ("stock_balance_insert", "stock_balance_delete", "stock_balance_update"):
            op.execute(f"DROP TRIGGER {name}")
    op.drop_table("stock_balance")
