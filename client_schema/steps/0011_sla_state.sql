-- fieldsync device replica, step 9: SLA state.
-- Never edit a step once released: add a new one.

-- The server's view of a ticket's deadlines (server/domain/sla.py): the answer deadline
-- and when the request was answered, the arrivals on the server's time line, and the
-- ticket's states against the two deadlines. The engineer reads them; only the server
-- writes them.
ALTER TABLE ticket ADD COLUMN answer_deadline TEXT;
ALTER TABLE ticket ADD COLUMN answered_at TEXT;
ALTER TABLE ticket ADD COLUMN arrived_at_server TEXT;
ALTER TABLE ticket ADD COLUMN logged_arrival_at TEXT;
ALTER TABLE ticket ADD COLUMN sla_state TEXT;
ALTER TABLE ticket ADD COLUMN answer_state TEXT;
