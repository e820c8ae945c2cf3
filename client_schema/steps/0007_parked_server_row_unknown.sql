-- fieldsync device replica, step 6: a parked mutation whose refusal came unread.
-- Never edit a step once released: add a new one.

-- 1 when the server refused the mutation without reading it (413 too_large on the
-- whole change-set, 422 on a malformed one naming it): the row as the server holds it
-- is unknown — not absent, as a NULL server_row on a read refusal means. The row stays
-- on the device as it is; dismissing the mutation asks the server for its row first.
ALTER TABLE _parked ADD COLUMN server_row_unknown INTEGER NOT NULL DEFAULT 0;
