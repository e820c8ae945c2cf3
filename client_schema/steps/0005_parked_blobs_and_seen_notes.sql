-- fieldsync device replica, step 5: images parked like refused mutations, what a parked
-- mutation's row is on the server, and which conflict notes the person has seen.
-- Never edit a step once released: add a new one.

-- Images the server refused (over the size limit or the device's quota) or whose bytes
-- no longer hash to their name: kept with the reason, skipped by uploads until the
-- person retries or dismisses them. The rows naming them stay as they are.
CREATE TABLE _parked_blobs (
    sha256 TEXT PRIMARY KEY,
    code TEXT NOT NULL,
    message TEXT NOT NULL,
    parked_at TEXT NOT NULL
) WITHOUT ROWID;

-- The row as the server held it when the mutation was refused (JSON {data, version},
-- or NULL): dismissing the parked mutation puts the row back to it.
ALTER TABLE _parked ADD COLUMN server_row TEXT;

-- Conflict notes the person has seen, by conflict id: the device's own reading state,
-- never pushed (the conflict rows themselves are the server's).
CREATE TABLE _conflict_seen (
    conflict_id TEXT PRIMARY KEY,
    seen_at TEXT NOT NULL
) WITHOUT ROWID;
