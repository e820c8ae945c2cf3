"""The field-service domain as synced entities (DOMAIN.md, section by section).

Field order is column order on the device: a new field goes at the end of its entity,
with a new ``client_schema`` step that adds the column.
"""

from __future__ import annotations

from .registry import (
    DEPOT,
    FIELD,
    OFFICE,
    ROLES,
    Approval,
    Catalog,
    Entity,
    Field,
    Owner,
    ReferencedBy,
    Registry,
    Via,
)

__all__ = ["REGISTRY", "TICKET_STATUSES", "MOVEMENT_KINDS", "RETURN_STEPS", "REPORT_FIELDS", "CATEGORIES", "LEVELS",
           "APPROVAL_STATUSES", "SLA_STATES"]

OFFICE_AND_FIELD = OFFICE | FIELD
DEPOT_AND_OFFICE = DEPOT | OFFICE
NOBODY: frozenset[str] = frozenset()

TICKET_STATUSES = (
    "reported", "dispatched", "accepted", "travelling", "on_site",
    "carried_back", "in_workshop", "returned", "completed", "signed", "closed", "cancelled",
)
MOVEMENT_KINDS = (
    "receive", "issue", "consume", "old_part_collected", "old_part_received",
    "transfer", "stocktake_adjustment", "write_off", "supplier_claim",
)
#: a ticket's state against a deadline (server/domain/sla.py)
SLA_STATES = ("on_time", "at_risk", "late", "met", "missed")
RETURN_STEPS = ("expected", "collected", "received", "disposed")
#: A paid, B contract, C free warranty, D internal work (004 §6)
CATEGORIES = ("A", "B", "C", "D")
#: the four levels of a customer rating, 1 poor … 4 very good (004 §25)
LEVELS = (1, 2, 3, 4)
#: An approval-bearing record's status (sync/rules/approval.py); none yet reads as submitted.
APPROVAL_STATUSES = ("submitted", "approved", "refused", "paid")
#: The ticket fields a customer signs for (with the parts consumed): see sync/report.py.
REPORT_FIELDS = (
    "fault_description", "diagnosis_listen", "diagnosis_look", "diagnosis_check",
    "diagnosis", "cause", "actions", "result",
)


def _f(name: str, type_: str = "text", *, owners: frozenset[str] = frozenset(), **kw) -> Field:
    return Field(name, type_, owners=owners, **kw)


def _time(name: str, owners: frozenset[str] = frozenset()) -> Field:
    return Field(name, "time", owners=owners)


def _ref(name: str, entity: str, owners: frozenset[str] = frozenset(), **kw) -> Field:
    return Field(name, "ref", owners=owners, ref=entity, **kw)


def _decisions() -> tuple[Field, ...]:
    """The server's record of an approval-bearing row's decisions (sync/rules/approval.py)."""
    return (
        #: every decision, void and withdrawal, oldest first: [{"event", "by", "at", "covers", ...}]
        _f("approval_history", "json", server_owned=True),
        #: everyone who wrote a covered value: none of them decides on the record
        _f("authors", "json", server_owned=True),
    )


CUSTOMER = Entity(
    "customer",
    (
        _f("name", max_length=200),
        _f("address", max_length=500),
        _f("phone", max_length=50),
        _f("contact", max_length=100),
        _f("zone", max_length=50),
    ),
    creators=OFFICE_AND_FIELD,
    scope=(ReferencedBy("ticket", "customer_id"), ReferencedBy("maintenance_visit", "customer_id")),
)

EQUIPMENT = Entity(
    "equipment",
    (
        _ref("customer_id", "customer"),
        _f("model", max_length=200),
        _f("serial", max_length=100),
        _time("warranty_end"),
        _f("run_hours", "real"),
        _f("mileage_km", "real"),
        _ref("contract_id", "contract", OFFICE),
    ),
    creators=OFFICE_AND_FIELD,
    scope=(ReferencedBy("ticket", "equipment_id"),),
)

CONTRACT = Entity(
    "contract",
    (
        # Head office's alone to write: the deadlines of its tickets are read from it.
        _f("number", owners=OFFICE, max_length=40),
        _ref("customer_id", "customer", OFFICE),
        _time("starts_on", OFFICE),
        _time("ends_on", OFFICE),
        #: response promised by the contract, in hours (far cities and other provinces)
        _f("response_hours", "real", owners=OFFICE),
        #: the commercial terms (prices, payment, penalties): not for the field; engineers
        #: read coverage from the dates and the response hours. The visit schedule
        #: (维护工作周期表) is the contract's maintenance_plan: one source (client step 0012).
        _f("terms", owners=OFFICE, max_length=4000, readers=OFFICE),
    ),
    creators=OFFICE,
    scope=(ReferencedBy("ticket", "contract_id"), ReferencedBy("maintenance_visit", "contract_id")),
)

TICKET = Entity(
    "ticket",
    (
        _f("number", server_owned=True, max_length=20),
        _f("provisional_number", max_length=40),
        _ref("customer_id", "customer"),
        _ref("equipment_id", "equipment"),
        _f("channel", max_length=20, choices=("phone", "web", "email", "on_site")),
        _f("fault_description"),
        _time("reported_at"),
        _f("status", max_length=20, choices=TICKET_STATUSES),
        _ref("assignee_id", "user", OFFICE),
        _f("urgency", owners=OFFICE, max_length=20, choices=("emergency", "normal")),
        _f("category", owners=OFFICE_AND_FIELD, max_length=1, choices=CATEGORIES),
        _time("deadline", OFFICE),
        _f("diagnosis", owners=FIELD),
        _f("actions", owners=FIELD),
        _time("arrived_at", FIELD),
        # -- added with the domain (client_schema step 0003) --
        _ref("contract_id", "contract", OFFICE),
        _f("zone", owners=OFFICE, max_length=50),
        _f("category_note", owners=FIELD, max_length=1000),
        _time("departed_at", FIELD),
        _f("run_hours_reading", "real", owners=FIELD),
        _f("mileage_reading", "real", owners=FIELD),
        _f("diagnosis_listen", owners=FIELD),
        _f("diagnosis_look", owners=FIELD),
        _f("diagnosis_check", owners=FIELD),
        _f("cause", owners=FIELD),
        _f("result", owners=FIELD),
        _f("carried_back", "boolean", owners=FIELD),
        _f("receipt_number", owners=FIELD, max_length=40),
        #: the repair card (修护卡): {"hours": 3.5, "parts": [...], "notes": "..."}
        _f("repair_card", "json", owners=FIELD),
        _time("returned_at", FIELD),
        _time("completed_at", FIELD),
        _f("cancel_reason", owners=OFFICE, max_length=1000),
        _ref("source_visit_id", "maintenance_visit", OFFICE_AND_FIELD),
        #: why head office must look at this ticket (a cancel lost to field work, say)
        _f("needs_review", server_owned=True, max_length=1000),
        _time("closed_at", OFFICE),
        # -- SLA state (client_schema step 0011), the server's: see server/domain/sla.py --
        #: 000: every repair request answered within 24 h; answered: dispatched or taken up
        _f("answer_deadline", "time", server_owned=True),
        _f("answered_at", "time", server_owned=True),
        #: ``arrived_at`` on the server's time line (less the pushing device's measured skew)
        _f("arrived_at_server", "time", server_owned=True),
        #: the earliest arrival in the ticket's work log, on the server's time line
        _f("logged_arrival_at", "time", server_owned=True),
        #: against ``deadline``, and against ``answer_deadline``
        _f("sla_state", server_owned=True, max_length=20, choices=SLA_STATES),
        _f("answer_state", server_owned=True, max_length=20, choices=SLA_STATES),
    ),
    rule="ticket",
    creators=OFFICE_AND_FIELD,
    scope=(Owner("assignee_id", "engineer"),),
)

WORK_LOG = Entity(
    "work_log",
    (
        _ref("ticket_id", "ticket"),
        _ref("engineer_id", "user"),
        _f("event", max_length=20, choices=("departed", "arrived", "work_started", "work_ended", "note")),
        _time("at"),
        _f("category", max_length=1, choices=CATEGORIES),
        _f("hours", "real"),
        _f("note", max_length=2000),
    ),
    rule="ledger",
    creators=FIELD | OFFICE,
    scope=(Via("ticket_id", "ticket"), Owner("engineer_id", "engineer")),
)

PART = Entity(
    "part",
    (
        _f("code", max_length=40),
        _f("name", max_length=200),
        _f("spec", max_length=500),
        _f("unit", max_length=20),
        _f("returnable", "boolean"),
        _f("price", "real"),
    ),
    creators=DEPOT_AND_OFFICE,
    deleters=DEPOT_AND_OFFICE,
    scope=(Catalog(),),
)

STOCK_LOCATION = Entity(
    "stock_location",
    (
        _f("kind", max_length=20, choices=("depot", "van", "station")),
        _f("name", max_length=200),
        _ref("engineer_id", "user"),
        _f("depot_id", max_length=64),
        # -- added with write-offs (client_schema step 0010) --
        #: the engineers who hold the van or station with ``engineer_id``, as a list of user
        #: ids: a two-person crew, a service station's staff. Each pulls it and draws from it.
        _f("crew", "json", owners=DEPOT_AND_OFFICE),
        #: the time of the latest approved stocktake here (server: a movement made before
        #: it that arrives later settles that count again, see server.domain.stocktake)
        _f("counted_as_of", "time", server_owned=True),
    ),
    creators=DEPOT_AND_OFFICE,
    scope=(Catalog(), Owner("engineer_id", "engineer"), Owner("depot_id", "depot"), Owner("crew", "engineer")),
)

REQUISITION = Entity(
    "requisition",
    (
        _ref("engineer_id", "user"),
        _ref("ticket_id", "ticket"),
        _ref("depot_location_id", "stock_location"),
        _ref("van_location_id", "stock_location"),
        #: [{"part_id": ..., "qty": 2}]
        _f("lines", "json"),
        _f("reason", max_length=1000),
        #: who approved it (set by the server from the approver's sign-in)
        _ref("approved_by", "user", server_owned=True),
        #: every line issued in full, worked out from the issues that name it
        _f("issued", "boolean", server_owned=True),
        # -- approvals (client_schema step 0009) --
        _f("status", max_length=20, choices=APPROVAL_STATUSES[:3]),
        *_decisions(),
    ),
    rule="approval",
    approval=Approval(covers=("engineer_id", "depot_location_id", "van_location_id", "lines"),
                      claimant="engineer_id", decider="approved_by"),
    creators=FIELD | OFFICE,
    scope=(Owner("engineer_id", "engineer"), Via("depot_location_id", "stock_location")),
)

STOCK_MOVEMENT = Entity(
    "stock_movement",
    (
        _f("kind", max_length=30, choices=MOVEMENT_KINDS),
        _ref("part_id", "part"),
        _f("qty", "real"),
        #: old parts sit in their own bins at every location
        _f("condition", max_length=10, choices=("new", "old")),
        _ref("from_location_id", "stock_location"),
        _ref("to_location_id", "stock_location"),
        _ref("ticket_id", "ticket"),
        _ref("requisition_id", "requisition"),
        _ref("return_id", "old_part_return"),
        #: who held the part (lost or damaged parts are charged to the holder)
        _ref("held_by", "user"),
        _time("occurred_at"),
        _f("note", max_length=1000),
        # -- added with write-offs (client_schema step 0010) --
        #: the stocktake a server-posted adjustment settles (its time is the count's)
        Field("count_id", "ref", ref="stock_count", server_owned=True),
    ),
    rule="ledger",
    creators=ROLES,
    scope=(Via("from_location_id", "stock_location"), Via("to_location_id", "stock_location"),
           Via("ticket_id", "ticket")),
)

OLD_PART_RETURN = Entity(
    "old_part_return",
    (
        _ref("ticket_id", "ticket"),
        _ref("part_id", "part"),
        _f("qty", "real"),
        _ref("engineer_id", "user"),
        _ref("depot_location_id", "stock_location"),
        _f("status", max_length=20, choices=RETURN_STEPS),
        _time("collected_at", FIELD),
        _time("received_at", DEPOT),
        _ref("received_by", "user", DEPOT),
        _f("disposition", owners=DEPOT, max_length=20, choices=("repair", "scrap", "supplier_claim")),
        _time("disposed_at", DEPOT),
        #: the supplier's answer to a secondary warranty claim (二次索赔)
        _f("claim_outcome", owners=DEPOT_AND_OFFICE, max_length=20, choices=("pending", "accepted", "refused")),
        _f("note", max_length=1000),
    ),
    rule="lifecycle",
    creators=FIELD | DEPOT_AND_OFFICE,
    scope=(Via("ticket_id", "ticket"), Owner("engineer_id", "engineer"), Via("depot_location_id", "stock_location")),
)

STOCK_COUNT = Entity(
    "stock_count",
    (
        _ref("location_id", "stock_location"),
        _ref("counted_by", "user"),
        #: when the shelf was counted, by the counting device's clock
        _time("counted_at"),
        #: the shelf as counted: [{"part_id": ..., "condition": "new", "qty": 4}]
        _f("lines", "json"),
        _f("note", max_length=1000),
        _f("approved", "boolean", owners=OFFICE),
        _ref("approved_by", "user", OFFICE),
        _time("approved_at", OFFICE),
        #: ``counted_at`` on the server's time line (corrected by the counting device's
        #: measured skew, as every movement's time is): the ledger is compared as of it
        _f("as_of", "time", server_owned=True),
    ),
    creators=DEPOT_AND_OFFICE,
    scope=(Via("location_id", "stock_location"),),
)

SIGNATURE = Entity(
    "signature",
    (
        _ref("ticket_id", "ticket"),
        #: SHA-256 of the image, uploaded to /v1/blobs/<sha256>
        _f("blob_sha256", max_length=64, blob=True),
        _f("signer_name", max_length=200),
        _time("signed_at"),
        #: SHA-256 of the canonical service report it signs (sync/report.py)
        _f("report_hash", max_length=64),
        #: the report changed after signing: a new signature is needed (this one is kept);
        #: false or true, written by the server when the signature arrives
        _f("stale", "boolean", server_owned=True),
        # -- added with canonical reports by RFC 8785 (client_schema step 0011) --
        #: how ``report_hash`` was computed (sync/report.py): 2, RFC 8785; 1 only on
        #: signatures made before format 2. Left out, the server writes the one that matches.
        _f("report_format", "integer", choices=(1, 2)),
    ),
    rule="signature",
    creators=FIELD | OFFICE,
    deleters=NOBODY,
    scope=(Via("ticket_id", "ticket"),),
)

SATISFACTION = Entity(
    "satisfaction_survey",
    (
        _ref("ticket_id", "ticket"),
        _ref("engineer_id", "user"),
        _f("attitude", "integer", choices=LEVELS),
        _f("skill", "integer", choices=LEVELS),
        _f("arrival_time", "integer", choices=LEVELS),
        _f("follow_through", "integer", choices=LEVELS),
        _f("comment", max_length=2000),
        _time("surveyed_at"),
    ),
    creators=OFFICE,
)

COMPLAINT = Entity(
    "complaint",
    (
        _f("number", server_owned=True, max_length=20),
        _ref("ticket_id", "ticket"),
        _ref("customer_id", "customer"),
        _ref("engineer_id", "user"),
        _f("description"),
        _time("received_at"),
        _f("abroad", "boolean"),
        _time("deadline", OFFICE),
        _f("status", max_length=20, choices=("open", "resolved")),
        _f("service_fault", "boolean"),
        _f("resolution", max_length=4000),
        _f("escalated", "boolean", server_owned=True),
    ),
    creators=OFFICE,
)

MAINTENANCE_PLAN = Entity(
    "maintenance_plan",
    (
        _ref("contract_id", "contract"),
        _ref("customer_id", "customer"),
        _f("every_months", "integer"),
        _time("first_visit_on"),
        _time("last_visit_on"),
        #: the checklist template: [{"area": "front-end devices", "item": "..."}]
        _f("checklist", "json"),
        _ref("engineer_id", "user"),
    ),
    creators=OFFICE,
)

MAINTENANCE_VISIT = Entity(
    "maintenance_visit",
    (
        _ref("plan_id", "maintenance_plan", OFFICE),
        _ref("contract_id", "contract", OFFICE),
        _ref("customer_id", "customer", OFFICE),
        _ref("engineer_id", "user", OFFICE),
        _time("due_on", OFFICE),
        _f("status", max_length=20, choices=("planned", "in_progress", "done", "missed")),
        _time("visited_at", FIELD),
        _f("summary", owners=FIELD),
    ),
    creators=OFFICE,
    scope=(Owner("engineer_id", "engineer"),),
)

INSPECTION_ITEM = Entity(
    "inspection_item",
    (
        _ref("visit_id", "maintenance_visit"),
        _f("area", max_length=100),
        _f("item", max_length=300),
        _f("result", max_length=20, choices=("ok", "fault", "not_applicable")),
        _f("note", max_length=2000),
        _time("checked_at"),
        #: the ticket opened for a fault found here
        _ref("ticket_id", "ticket"),
    ),
    creators=OFFICE_AND_FIELD,
    scope=(Via("visit_id", "maintenance_visit"),),
)

CHARGE = Entity(
    "charge",
    (
        _ref("ticket_id", "ticket"),
        _f("kind", max_length=20, choices=("labour", "parts", "travel", "part_sale")),
        _f("amount", "real"),
        _f("description", max_length=1000),
        _f("collected_on_site", "boolean", owners=FIELD),
        _f("paid", "boolean"),
        _f("invoice_number", owners=OFFICE, max_length=40),
        #: who approved it (set by the server from the approver's sign-in)
        _ref("approved_by", "user", server_owned=True),
        # -- approvals (client_schema step 0009): a part sale above the threshold needs one --
        _f("status", max_length=20, choices=APPROVAL_STATUSES[:3]),
        *_decisions(),
    ),
    rule="approval",
    approval=Approval(covers=("ticket_id", "kind", "amount"), decider="approved_by"),
    creators=OFFICE_AND_FIELD,
    scope=(Via("ticket_id", "ticket"),),
)

EXPENSE_CLAIM = Entity(
    "expense_claim",
    (
        _ref("engineer_id", "user"),
        _ref("ticket_id", "ticket"),
        #: an advance is drawn before a trip; a claim is filed after it, with receipts
        _f("kind", max_length=20, choices=("advance", "claim")),
        _f("amount", "real", owners=FIELD),
        _f("site_days", "real", owners=FIELD),
        _f("description", owners=FIELD, max_length=2000),
        #: SHA-256 of each receipt photo, uploaded to /v1/blobs/<sha256>
        _f("receipts", "json", owners=FIELD, blob=True),
        _f("status", max_length=20, choices=APPROVAL_STATUSES),
        #: who approved it (set by the server from the approver's sign-in)
        _ref("decided_by", "user", server_owned=True),
        _f("decision_note", owners=OFFICE, max_length=1000),
        #: site days × the configured daily allowance, worked out by the server
        _f("allowance", "real", server_owned=True),
        # -- approvals (client_schema step 0009) --
        *_decisions(),
        #: a claim filed after a trip names the advance drawn for it: they are settled together
        _ref("advance_id", "expense_claim"),
    ),
    rule="approval",
    approval=Approval(covers=("engineer_id", "kind", "amount", "site_days", "receipts"), claimant="engineer_id",
                      decider="decided_by", payable=True),
    creators=FIELD | OFFICE,
    scope=(Owner("engineer_id", "engineer"),),
)

CONFLICT = Entity(
    "conflict",
    (
        _f("entity", server_owned=True, max_length=40),
        _f("row_id", server_owned=True, max_length=64),
        _f("field", server_owned=True, max_length=80),
        _f("rule", server_owned=True, max_length=40),
        #: incoming (the later push won) | stored (the row kept its value)
        _f("winner", server_owned=True, max_length=10),
        _f("kept_value", "json", server_owned=True),
        _f("kept_hlc", server_owned=True, max_length=120),
        _f("lost_value", "json", server_owned=True),
        _f("lost_hlc", server_owned=True, max_length=120),
        _f("mutation_id", server_owned=True, max_length=64),
        _f("device_id", server_owned=True, max_length=64),
        #: the scope of the person whose value lost: they see what happened to their work
        _f("notify_key", server_owned=True, max_length=80),
        #: open | resolved
        _f("status", server_owned=True, max_length=20),
        _f("resolution", "json", server_owned=True),
        # -- added with client_schema step 0008 --
        #: {"kept_value", "kept_hlc"} when the row had left the loser's scope: what it kept
        #: is for head office, not for the loser (kept_value and kept_hlc are then null)
        _f("withheld", "json", server_owned=True, readers=OFFICE),
    ),
    creators=NOBODY,
    deleters=NOBODY,
    scope=(Owner("notify_key", ""),),
)

REGISTRY = Registry([
    CUSTOMER, EQUIPMENT, CONTRACT, TICKET, WORK_LOG, PART, STOCK_LOCATION, REQUISITION,
    STOCK_MOVEMENT, OLD_PART_RETURN, STOCK_COUNT, SIGNATURE, SATISFACTION, COMPLAINT, MAINTENANCE_PLAN,
    MAINTENANCE_VISIT, INSPECTION_ITEM, CHARGE, EXPENSE_CLAIM, CONFLICT,
])
