-- fieldsync device replica, step 7: approvals.
-- Never edit a step once released: add a new one.

-- A requisition's approval is its status now (submitted, approved, refused; none yet
-- reads as submitted), with the server's record of every decision and of everyone who
-- wrote what a decision covers. The server's migration makes the same change, so the
-- replica agrees with it without a resync.
ALTER TABLE requisition ADD COLUMN status TEXT;
ALTER TABLE requisition ADD COLUMN approval_history TEXT;
ALTER TABLE requisition ADD COLUMN authors TEXT;
UPDATE requisition SET status = 'approved' WHERE approved = 1;
ALTER TABLE requisition DROP COLUMN approved;

-- A charge is approved by a manager (a part sale above the threshold must be).
ALTER TABLE charge ADD COLUMN status TEXT;
ALTER TABLE charge ADD COLUMN approval_history TEXT;
ALTER TABLE charge ADD COLUMN authors TEXT;
UPDATE charge SET status = 'approved' WHERE approved_by IS NOT NULL;

-- An expense claim filed after a trip names the advance drawn for it.
ALTER TABLE expense_claim ADD COLUMN approval_history TEXT;
ALTER TABLE expense_claim ADD COLUMN authors TEXT;
ALTER TABLE expense_claim ADD COLUMN advance_id TEXT;
