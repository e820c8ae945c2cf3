-- fieldsync device replica, step 5: what a conflict record keeps from the person who lost.
-- Never edit a step once released: add a new one.
--
-- When the row a losing value was written to has left the loser's scope (a ticket
-- reassigned while they worked offline), the record's kept_value and kept_hlc are null
-- for them and the winning side is in `withheld`, which only head office pulls.

ALTER TABLE conflict ADD COLUMN withheld TEXT;
