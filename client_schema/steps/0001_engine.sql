-- fieldsync device replica, step 1: the sync engine's own tables.
-- Never edit a step once released: add a new one.

-- Every local write, captured by the triggers in the same transaction as the write.
CREATE TABLE _outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    mutation_id TEXT NOT NULL UNIQUE,
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    op TEXT NOT NULL CHECK (op IN ('insert', 'update', 'delete')),
    fields TEXT NOT NULL DEFAULT '{}',
    hlc TEXT NOT NULL,
    base_version INTEGER,
    -- set when the mutation is put in a change-set; a resend reuses the same id
    changeset_id TEXT
);
CREATE INDEX _outbox_row ON _outbox (entity, row_id);

-- The server version of every row the replica holds (base_version of local edits).
CREATE TABLE _row_version (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    PRIMARY KEY (entity, id)
) WITHOUT ROWID;

-- cursor, device id, last HLC, change-set sequence...
CREATE TABLE _sync_state (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;

-- applying = 1 while the engine writes pulled rows: the triggers stay quiet then.
CREATE TABLE _sync_control (applying INTEGER NOT NULL DEFAULT 0);
INSERT INTO _sync_control (applying) VALUES (0);

-- Mutations the server refused, kept with the reason for the person to see.
CREATE TABLE _parked (
    mutation_id TEXT PRIMARY KEY,
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    op TEXT NOT NULL,
    fields TEXT NOT NULL,
    hlc TEXT NOT NULL,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    field TEXT,
    parked_at TEXT NOT NULL
);

-- Conflicts the server recorded on this device's writes.
CREATE TABLE _conflicts (
    conflict_id TEXT PRIMARY KEY,
    mutation_id TEXT,
    entity TEXT NOT NULL,
    row_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    received_at TEXT NOT NULL
);

-- Rows not yet seen again during a scope resync; whatever is left when it ends is gone.
CREATE TABLE _resync_unseen (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (entity, id)
) WITHOUT ROWID;

