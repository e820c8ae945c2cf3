-- fieldsync device replica, step 3: the field-service domain (DOMAIN.md).
-- Never edit a step once released: add a new one.

-- Rows the server took out of this device's scope while it still had edits on them:
-- they leave once those edits are pushed (the work is sent first, never lost).
CREATE TABLE _evict_after_push (
    entity TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (entity, id)
) WITHOUT ROWID;

-- Images (signatures, receipt photos) waiting to be uploaded, and kept for display.
CREATE TABLE _blobs (
    sha256 TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    content_type TEXT NOT NULL,
    uploaded INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;


ALTER TABLE equipment ADD COLUMN contract_id TEXT;

CREATE TABLE contract (
    id TEXT PRIMARY KEY,
    number TEXT,
    customer_id TEXT,
    starts_on TEXT,
    ends_on TEXT,
    response_hours REAL,
    visit_schedule TEXT,
    terms TEXT
);

ALTER TABLE ticket ADD COLUMN contract_id TEXT;
ALTER TABLE ticket ADD COLUMN zone TEXT;
ALTER TABLE ticket ADD COLUMN category_note TEXT;
ALTER TABLE ticket ADD COLUMN departed_at TEXT;
ALTER TABLE ticket ADD COLUMN run_hours_reading REAL;
ALTER TABLE ticket ADD COLUMN mileage_reading REAL;
ALTER TABLE ticket ADD COLUMN diagnosis_listen TEXT;
ALTER TABLE ticket ADD COLUMN diagnosis_look TEXT;
ALTER TABLE ticket ADD COLUMN diagnosis_check TEXT;
ALTER TABLE ticket ADD COLUMN cause TEXT;
ALTER TABLE ticket ADD COLUMN result TEXT;
ALTER TABLE ticket ADD COLUMN carried_back INTEGER;
ALTER TABLE ticket ADD COLUMN receipt_number TEXT;
ALTER TABLE ticket ADD COLUMN repair_card TEXT;
ALTER TABLE ticket ADD COLUMN returned_at TEXT;
ALTER TABLE ticket ADD COLUMN completed_at TEXT;
ALTER TABLE ticket ADD COLUMN cancel_reason TEXT;
ALTER TABLE ticket ADD COLUMN source_visit_id TEXT;
ALTER TABLE ticket ADD COLUMN needs_review TEXT;
ALTER TABLE ticket ADD COLUMN closed_at TEXT;

CREATE TABLE work_log (
    id TEXT PRIMARY KEY,
    ticket_id TEXT,
    engineer_id TEXT,
    event TEXT,
    at TEXT,
    category TEXT,
    hours REAL,
    note TEXT
);

CREATE TABLE part (
    id TEXT PRIMARY KEY,
    code TEXT,
    name TEXT,
    spec TEXT,
    unit TEXT,
    returnable INTEGER,
    price REAL
);

CREATE TABLE stock_location (
    id TEXT PRIMARY KEY,
    kind TEXT,
    name TEXT,
    engineer_id TEXT,
    depot_id TEXT
);

CREATE TABLE requisition (
    id TEXT PRIMARY KEY,
    engineer_id TEXT,
    ticket_id TEXT,
    depot_location_id TEXT,
    van_location_id TEXT,
    lines TEXT,
    reason TEXT,
    approved INTEGER,
    approved_by TEXT,
    issued INTEGER
);

CREATE TABLE stock_movement (
    id TEXT PRIMARY KEY,
    kind TEXT,
    part_id TEXT,
    qty REAL,
    condition TEXT,
    from_location_id TEXT,
    to_location_id TEXT,
    ticket_id TEXT,
    requisition_id TEXT,
    return_id TEXT,
    held_by TEXT,
    occurred_at TEXT,
    note TEXT
);

CREATE TABLE old_part_return (
    id TEXT PRIMARY KEY,
    ticket_id TEXT,
    part_id TEXT,
    qty REAL,
    engineer_id TEXT,
    depot_location_id TEXT,
    status TEXT,
    collected_at TEXT,
    received_at TEXT,
    received_by TEXT,
    disposition TEXT,
    disposed_at TEXT,
    claim_outcome TEXT,
    note TEXT
);

CREATE TABLE signature (
    id TEXT PRIMARY KEY,
    ticket_id TEXT,
    blob_sha256 TEXT,
    signer_name TEXT,
    signed_at TEXT,
    report_hash TEXT,
    stale INTEGER
);

CREATE TABLE satisfaction_survey (
    id TEXT PRIMARY KEY,
    ticket_id TEXT,
    engineer_id TEXT,
    attitude INTEGER,
    skill INTEGER,
    arrival_time INTEGER,
    follow_through INTEGER,
    comment TEXT,
    surveyed_at TEXT
);

CREATE TABLE complaint (
    id TEXT PRIMARY KEY,
    number TEXT,
    ticket_id TEXT,
    customer_id TEXT,
    engineer_id TEXT,
    description TEXT,
    received_at TEXT,
    abroad INTEGER,
    deadline TEXT,
    status TEXT,
    service_fault INTEGER,
    resolution TEXT,
    escalated INTEGER
);

CREATE TABLE maintenance_plan (
    id TEXT PRIMARY KEY,
    contract_id TEXT,
    customer_id TEXT,
    every_months INTEGER,
    first_visit_on TEXT,
    last_visit_on TEXT,
    checklist TEXT,
    engineer_id TEXT
);

CREATE TABLE maintenance_visit (
    id TEXT PRIMARY KEY,
    plan_id TEXT,
    contract_id TEXT,
    customer_id TEXT,
    engineer_id TEXT,
    due_on TEXT,
    status TEXT,
    visited_at TEXT,
    summary TEXT
);

CREATE TABLE inspection_item (
    id TEXT PRIMARY KEY,
    visit_id TEXT,
    area TEXT,
    item TEXT,
    result TEXT,
    note TEXT,
    checked_at TEXT,
    ticket_id TEXT
);

CREATE TABLE charge (
    id TEXT PRIMARY KEY,
    ticket_id TEXT,
    kind TEXT,
    amount REAL,
    description TEXT,
    collected_on_site INTEGER,
    paid INTEGER,
    invoice_number TEXT,
    approved_by TEXT
);

CREATE TABLE expense_claim (
    id TEXT PRIMARY KEY,
    engineer_id TEXT,
    ticket_id TEXT,
    kind TEXT,
    amount REAL,
    site_days REAL,
    description TEXT,
    receipts TEXT,
    status TEXT,
    decided_by TEXT,
    decision_note TEXT,
    allowance REAL
);

CREATE TABLE conflict (
    id TEXT PRIMARY KEY,
    entity TEXT,
    row_id TEXT,
    field TEXT,
    rule TEXT,
    winner TEXT,
    kept_value TEXT,
    kept_hlc TEXT,
    lost_value TEXT,
    lost_hlc TEXT,
    mutation_id TEXT,
    device_id TEXT,
    notify_key TEXT,
    status TEXT,
    resolution TEXT
);
