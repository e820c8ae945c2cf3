-- fieldsync device replica, step 4: each row keeps the server version it was pulled at.
-- Never edit a step once released: add a new one.
--
-- Until step 3, a pulled row's version lived in _row_version only, so every pulled row
-- was written twice (its table and _row_version) and its version looked up before it.
-- From here the version is the row's own `_version` column (NULL: never pulled, e.g.
-- a local insert not yet pushed), written by the same statement as the row. A table
-- added by a later step declares `_version INTEGER` itself.
--
-- _row_version keeps the versions of rows the replica no longer holds (deleted, here
-- or by a pull), so an older copy of a deleted row is never taken back: every delete
-- copies the row's `_version` there (a trigger, see client_schema.version_triggers()).
-- The version a replica holds for a row is coalesce(row._version, _row_version.version).

ALTER TABLE customer ADD COLUMN _version INTEGER;
UPDATE customer SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'customer' AND v.id = customer.id);
DELETE FROM _row_version WHERE entity = 'customer' AND id IN (SELECT id FROM customer WHERE _version IS NOT NULL);

ALTER TABLE equipment ADD COLUMN _version INTEGER;
UPDATE equipment SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'equipment' AND v.id = equipment.id);
DELETE FROM _row_version WHERE entity = 'equipment' AND id IN (SELECT id FROM equipment WHERE _version IS NOT NULL);

ALTER TABLE contract ADD COLUMN _version INTEGER;
UPDATE contract SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'contract' AND v.id = contract.id);
DELETE FROM _row_version WHERE entity = 'contract' AND id IN (SELECT id FROM contract WHERE _version IS NOT NULL);

ALTER TABLE ticket ADD COLUMN _version INTEGER;
UPDATE ticket SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'ticket' AND v.id = ticket.id);
DELETE FROM _row_version WHERE entity = 'ticket' AND id IN (SELECT id FROM ticket WHERE _version IS NOT NULL);

ALTER TABLE work_log ADD COLUMN _version INTEGER;
UPDATE work_log SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'work_log' AND v.id = work_log.id);
DELETE FROM _row_version WHERE entity = 'work_log' AND id IN (SELECT id FROM work_log WHERE _version IS NOT NULL);

ALTER TABLE part ADD COLUMN _version INTEGER;
UPDATE part SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'part' AND v.id = part.id);
DELETE FROM _row_version WHERE entity = 'part' AND id IN (SELECT id FROM part WHERE _version IS NOT NULL);

ALTER TABLE stock_location ADD COLUMN _version INTEGER;
UPDATE stock_location SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'stock_location' AND v.id = stock_location.id);
DELETE FROM _row_version WHERE entity = 'stock_location' AND id IN (SELECT id FROM stock_location WHERE _version IS NOT NULL);

ALTER TABLE requisition ADD COLUMN _version INTEGER;
UPDATE requisition SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'requisition' AND v.id = requisition.id);
DELETE FROM _row_version WHERE entity = 'requisition' AND id IN (SELECT id FROM requisition WHERE _version IS NOT NULL);

ALTER TABLE stock_movement ADD COLUMN _version INTEGER;
UPDATE stock_movement SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'stock_movement' AND v.id = stock_movement.id);
DELETE FROM _row_version WHERE entity = 'stock_movement' AND id IN (SELECT id FROM stock_movement WHERE _version IS NOT NULL);

ALTER TABLE old_part_return ADD COLUMN _version INTEGER;
UPDATE old_part_return SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'old_part_return' AND v.id = old_part_return.id);
DELETE FROM _row_version WHERE entity = 'old_part_return' AND id IN (SELECT id FROM old_part_return WHERE _version IS NOT NULL);

ALTER TABLE signature ADD COLUMN _version INTEGER;
UPDATE signature SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'signature' AND v.id = signature.id);
DELETE FROM _row_version WHERE entity = 'signature' AND id IN (SELECT id FROM signature WHERE _version IS NOT NULL);

ALTER TABLE satisfaction_survey ADD COLUMN _version INTEGER;
UPDATE satisfaction_survey SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'satisfaction_survey' AND v.id = satisfaction_survey.id);
DELETE FROM _row_version WHERE entity = 'satisfaction_survey' AND id IN (SELECT id FROM satisfaction_survey WHERE _version IS NOT NULL);

ALTER TABLE complaint ADD COLUMN _version INTEGER;
UPDATE complaint SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'complaint' AND v.id = complaint.id);
DELETE FROM _row_version WHERE entity = 'complaint' AND id IN (SELECT id FROM complaint WHERE _version IS NOT NULL);

ALTER TABLE maintenance_plan ADD COLUMN _version INTEGER;
UPDATE maintenance_plan SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'maintenance_plan' AND v.id = maintenance_plan.id);
DELETE FROM _row_version WHERE entity = 'maintenance_plan' AND id IN (SELECT id FROM maintenance_plan WHERE _version IS NOT NULL);

ALTER TABLE maintenance_visit ADD COLUMN _version INTEGER;
UPDATE maintenance_visit SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'maintenance_visit' AND v.id = maintenance_visit.id);
DELETE FROM _row_version WHERE entity = 'maintenance_visit' AND id IN (SELECT id FROM maintenance_visit WHERE _version IS NOT NULL);

ALTER TABLE inspection_item ADD COLUMN _version INTEGER;
UPDATE inspection_item SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'inspection_item' AND v.id = inspection_item.id);
DELETE FROM _row_version WHERE entity = 'inspection_item' AND id IN (SELECT id FROM inspection_item WHERE _version IS NOT NULL);

ALTER TABLE charge ADD COLUMN _version INTEGER;
UPDATE charge SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'charge' AND v.id = charge.id);
DELETE FROM _row_version WHERE entity = 'charge' AND id IN (SELECT id FROM charge WHERE _version IS NOT NULL);

ALTER TABLE expense_claim ADD COLUMN _version INTEGER;
UPDATE expense_claim SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'expense_claim' AND v.id = expense_claim.id);
DELETE FROM _row_version WHERE entity = 'expense_claim' AND id IN (SELECT id FROM expense_claim WHERE _version IS NOT NULL);

ALTER TABLE conflict ADD COLUMN _version INTEGER;
UPDATE conflict SET _version = (SELECT version FROM _row_version v WHERE v.entity = 'conflict' AND v.id = conflict.id);
DELETE FROM _row_version WHERE entity = 'conflict' AND id IN (SELECT id FROM conflict WHERE _version IS NOT NULL);
