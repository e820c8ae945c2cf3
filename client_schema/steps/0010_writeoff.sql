-- fieldsync device replica, step 8: write-offs, stocktakes and shared vans.
-- Never edit a step once released: add a new one.

-- A van or station held by more than one engineer: the others, as a JSON list of user
-- ids; and the time of the latest approved stocktake there (written by the server).
ALTER TABLE stock_location ADD COLUMN crew TEXT;
ALTER TABLE stock_location ADD COLUMN counted_as_of TEXT;

-- The stocktake a server-posted adjustment settles.
ALTER TABLE stock_movement ADD COLUMN count_id TEXT;

-- A count sheet: the shelf quantities of one location, who counted and when; head
-- office approves it, and the server posts the differences as adjustments.
CREATE TABLE stock_count (
    id TEXT PRIMARY KEY,
    location_id TEXT,
    counted_by TEXT,
    counted_at TEXT,
    lines TEXT,
    note TEXT,
    approved INTEGER,
    approved_by TEXT,
    approved_at TEXT,
    as_of TEXT,
    _version INTEGER
);
