-- fieldsync device replica, step 2: the first synced entities (see sync/registry.py).
-- Never edit a step once released: add a new one.

CREATE TABLE customer (
    id TEXT PRIMARY KEY,
    name TEXT,
    address TEXT,
    phone TEXT,
    contact TEXT,
    zone TEXT
);

CREATE TABLE equipment (
    id TEXT PRIMARY KEY,
    customer_id TEXT,
    model TEXT,
    serial TEXT,
    warranty_end TEXT,
    run_hours REAL,
    mileage_km REAL
);

CREATE TABLE ticket (
    id TEXT PRIMARY KEY,
    number TEXT,
    provisional_number TEXT,
    customer_id TEXT,
    equipment_id TEXT,
    channel TEXT,
    fault_description TEXT,
    reported_at TEXT,
    status TEXT,
    assignee_id TEXT,
    urgency TEXT,
    category TEXT,
    deadline TEXT,
    diagnosis TEXT,
    actions TEXT,
    arrived_at TEXT
);
