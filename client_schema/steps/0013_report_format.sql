-- fieldsync device replica, step 11: canonical reports by RFC 8785.
-- Never edit a step once released: add a new one.

-- The format a signature's report_hash was computed in (docs/protocol.md, "Signatures"):
-- 2 for every signature made from now on. A signature held before this step was hashed
-- in format 1 (by the engine of its time), pushed or not: it says so. A signature made
-- here from now on is format 2 unless the insert says otherwise, and is sent so.
ALTER TABLE signature ADD COLUMN report_format INTEGER DEFAULT 2;
UPDATE signature SET report_format = 1;
