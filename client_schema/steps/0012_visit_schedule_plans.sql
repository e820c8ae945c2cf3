-- fieldsync device replica, step 10: maintenance plans have one source.
-- Never edit a step once released: add a new one.

-- A contract's visit schedule is its maintenance plan now: the server's migration made a
-- plan of each schedule (the office's replicas pull it), and the column goes here too.
ALTER TABLE contract DROP COLUMN visit_schedule;
