"""The signed service report as a PDF (issue 18): what it shows, read back by text
extraction and by rendering, and its verification — the genuine PDF is believed, a PDF
with a line changed is not, a stale signature is told as not current."""

from __future__ import annotations

import hashlib
import io

import orjson
import pypdfium2 as pdfium
import pytest
import sqlalchemy as sa
from fpdf import FPDF
from PIL import Image, ImageDraw

from server.reports.report_verify import MAX_PDF_BYTES
from server.reports.service_report_pdf import CANONICAL_NAME, DOCUMENT_NAME, blocks, render
from server.tables import entity_table, users
from sync.report import report_hash
from tests.conftest import auth_header

CUSTOMER = "上海华信印务有限公司"
ADDRESS = "上海市浦东新区张江路88号3号楼"
FAULT = "印刷机运行十分钟后自动停机"
DIAGNOSIS = "主传动皮带磨损打滑，张紧轮轴承异响"
ACTIONS = "更换传动皮带并调整张紧度"
VERIFY = "/v1/office/reports/verify"


def signature_png() -> bytes:
    """刘建国's signature as the tablet captures it: dark strokes on white."""
    image = Image.new("RGB", (600, 200), "white")
    pen = ImageDraw.Draw(image)
    pen.line([(40, 150), (120, 40), (180, 160), (260, 50), (330, 150), (420, 60), (560, 120)], fill="black", width=8)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def job(people, replica_for, engine):
    """王建军 replaces the drive belt of 上海华信印务's press, the customer signs; returns the ids."""
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == "u-wang").values(name="王建军"))
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    customer = desk.insert("customer", name=CUSTOMER, address=ADDRESS, phone="021-5080-1234", zone="浦东")
    equipment = desk.insert("equipment", customer_id=customer, model="海德堡 SM-52 胶印机", serial="HD52-0098")
    part = desk.insert("part", code="BLT-200", name="传动皮带", unit="条", returnable=False, price=80.0)
    van = desk.insert("stock_location", kind="van", name="王师傅的服务车", engineer_id="u-wang")
    ticket = desk.insert("ticket", customer_id=customer, equipment_id=equipment, assignee_id="u-wang",
                         status="dispatched", urgency="normal", channel="phone", fault_description=FAULT,
                         reported_at="2026-11-23T08:15:00+08:00")
    desk.sync()
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    wang.insert("stock_movement", kind="consume", part_id=part, qty=1, condition="new", from_location_id=van,
                ticket_id=ticket, held_by="u-wang", occurred_at="2026-11-23T10:20:00+08:00")
    wang.update("ticket", ticket, diagnosis=DIAGNOSIS, cause="皮带超期使用", actions=ACTIONS, result="试机两小时运行正常")
    wang.update("ticket", ticket, status="completed", completed_at="2026-11-23T11:05:00+08:00")
    signature = wang.insert("signature", ticket_id=ticket, blob_sha256=wang.put_blob(signature_png()),
                            signer_name="刘建国", signed_at="2026-11-23T11:10:00+08:00",
                            report_hash=wang.report_hash(ticket))
    wang.update("ticket", ticket, status="signed")
    wang.sync()
    return {"ticket": ticket, "signature": signature, "desk": desk, "wang": wang}


def fetch_pdf(client, person, ticket) -> bytes:
    response = client.get(f"/v1/office/tickets/{ticket}/report.pdf", headers=auth_header(person))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    return response.get_data()


def text_of(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    try:
        return "".join(document[i].get_textpage().get_text_range() for i in range(len(document)))
    finally:
        document.close()


def attachments_of(pdf: bytes) -> dict[str, bytes]:
    document = pdfium.PdfDocument(pdf)
    try:
        found = (document.get_attachment(i) for i in range(document.count_attachments()))
        return {a.get_name(): bytes(a.get_data()) for a in found}
    finally:
        document.close()


def first_page_image(pdf: bytes) -> Image.Image:
    document = pdfium.PdfDocument(pdf)
    try:
        return document[0].render(scale=2).to_pil().convert("L")
    finally:
        document.close()


def dark_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    """Pixels darker than mid grey in ``box`` of a greyscale page."""
    return sum(image.crop(box).histogram()[:128])


def verify_pdf(client, person, pdf: bytes):
    return client.post(VERIFY, data=pdf, headers=auth_header(person) | {"Content-Type": "application/pdf"})


def verify_hash(client, person, value):
    return client.post(VERIFY, json={"hash": value}, headers=auth_header(person))


def server_signature(engine, signature_id) -> dict:
    table = entity_table("signature")
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == signature_id)).mappings().one())


def test_the_office_prints_the_signed_report_in_chinese_with_the_signature_and_its_hash(
        job, client, people, engine, tmp_path):
    pdf = fetch_pdf(client, people["desk"], job["ticket"])
    text = "".join(text_of(pdf).split())
    signed = server_signature(engine, job["signature"])
    for shown in (CUSTOMER, ADDRESS, FAULT, DIAGNOSIS, ACTIONS, "海德堡SM-52胶印机", "王建军", "传动皮带", "刘建国",
                  "皮带超期使用", "2026-11-23T09:40:00+08:00", "有效（签字对应本报告当前内容）",
                  f"SHA-256{signed['report_hash']}"):
        assert shown in text, shown
    # the Chinese comes from a subset of Noto Sans SC carried in the file, not the reader's fonts
    assert b"/FontFile3" in pdf and b"NotoSansSC" in pdf and b"+NotoSansSC" in pdf
    attached = attachments_of(pdf)
    assert hashlib.sha256(attached[CANONICAL_NAME]).hexdigest() == signed["report_hash"]
    assert orjson.loads(attached[CANONICAL_NAME])["report"]["diagnosis"] == DIAGNOSIS

    page = first_page_image(pdf)
    page.save(tmp_path / "service-report.png")  # kept with the test's files, to look at
    width, height = page.size
    assert dark_pixels(page, (0, 0, width, height // 3)) > 5_000  # title, customer, equipment in ink
    assert dark_pixels(page, (0, 0, width, 40)) == 0  # the top margin stays white


def test_the_engineer_prints_his_own_ticket_and_nobody_else_but_the_office_may(job, client, people):
    assert fetch_pdf(client, people["wang"], job["ticket"]).startswith(b"%PDF-")
    assert fetch_pdf(client, people["manager"], job["ticket"]).startswith(b"%PDF-")
    for outsider in ("chen", "depot"):
        response = client.get(f"/v1/office/tickets/{job['ticket']}/report.pdf", headers=auth_header(people[outsider]))
        assert (response.status_code, response.json["code"]) == (403, "forbidden")
    response = client.get("/v1/office/tickets/no-such-ticket/report.pdf", headers=auth_header(people["desk"]))
    assert (response.status_code, response.json["code"]) == (404, "not_found")
    for malformed in ("５５", "工单", "a" * 65, "-lead"):
        response = client.get(f"/v1/office/tickets/{malformed}/report.pdf", headers=auth_header(people["desk"]))
        assert (response.status_code, response.json["code"]) == (422, "invalid"), malformed
    response = client.get(f"/v1/office/tickets/{job['ticket']}/report.pdf")
    assert response.status_code == 401


def test_the_genuine_pdf_and_its_hash_verify_against_the_current_signature(job, client, people, engine):
    pdf = fetch_pdf(client, people["desk"], job["ticket"])
    signed = server_signature(engine, job["signature"])
    for answer in (verify_pdf(client, people["manager"], pdf), verify_hash(client, people["desk"], signed["report_hash"])):
        assert answer.status_code == 200, answer.json
        body = answer.json
        assert (body["verified"], body["reason"], body["hash"], body["ticket_id"]) == (
            True, None, signed["report_hash"], job["ticket"])
        assert [(s["signature_id"], s["signer_name"], s["current"], s["report_format"]) for s in body["signatures"]] == [
            (job["signature"], "刘建国", True, 2)]


def tampered(pdf: bytes, **report) -> bytes:
    """The PDF as a forger leaves it: the page's report lines changed, its attachments as they were."""
    attached = attachments_of(pdf)
    document = orjson.loads(attached[DOCUMENT_NAME])
    changed = document | {"report": document["report"] | report}
    return render(blocks(changed), None, attached, title="售后服务报告")


def test_a_pdf_with_a_changed_line_is_not_verified(job, client, people):
    pdf = fetch_pdf(client, people["desk"], job["ticket"])
    forged = tampered(pdf, actions="更换主电机及传动皮带")
    assert "更换主电机及传动皮带" in text_of(forged)
    answer = verify_pdf(client, people["desk"], forged)
    assert (answer.status_code, answer.json["verified"], answer.json["reason"], answer.json["signatures"]) == (
        200, False, "text_differs", [])


def test_a_pdf_whose_attachments_were_rewritten_to_match_its_changed_line_is_not_verified(job, client, people):
    """The forger changes the page, the document and the canonical report alike: the hash
    is recomputed from the bytes, and no signature was made over them."""
    pdf = fetch_pdf(client, people["desk"], job["ticket"])
    attached = attachments_of(pdf)
    canonical = orjson.loads(attached[CANONICAL_NAME])
    canonical["report"]["actions"] = "更换主电机及传动皮带"
    forged_bytes = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)
    document = orjson.loads(attached[DOCUMENT_NAME])
    document["report"] = canonical["report"]
    document["report_hash"] = hashlib.sha256(forged_bytes).hexdigest()
    forged = render(blocks(document), None, {CANONICAL_NAME: forged_bytes, DOCUMENT_NAME: orjson.dumps(document)},
                    title="售后服务报告")
    answer = verify_pdf(client, people["desk"], forged).json
    assert (answer["verified"], answer["reason"], answer["hash"], answer["signatures"]) == (
        False, "unsigned", document["report_hash"], [])

    only_document = render(blocks(document), None, {CANONICAL_NAME: attached[CANONICAL_NAME],
                                                    DOCUMENT_NAME: orjson.dumps(document)}, title="售后服务报告")
    answer = verify_pdf(client, people["desk"], only_document).json
    assert (answer["verified"], answer["reason"]) == (False, "content_differs")


def test_a_report_changed_after_signing_prints_and_verifies_as_not_current_until_signed_again(
        job, client, people, engine):
    wang, ticket = job["wang"], job["ticket"]
    old_hash = server_signature(engine, job["signature"])["report_hash"]
    wang.update("ticket", ticket, actions="更换传动皮带，另换了张紧轮")
    wang.sync()
    assert server_signature(engine, job["signature"])["stale"]

    pdf = fetch_pdf(client, people["desk"], ticket)
    text = "".join(text_of(pdf).split())
    assert "已失效（签字后报告内容有改动，需客户重新签字）" in text and "更换传动皮带，另换了张紧轮" in text
    answer = verify_pdf(client, people["desk"], pdf).json
    assert (answer["verified"], answer["reason"], answer["signatures"]) == (False, "unsigned", [])
    answer = verify_hash(client, people["desk"], old_hash).json
    assert (answer["verified"], answer["reason"]) == (False, "stale")
    assert [(s["signature_id"], s["current"]) for s in answer["signatures"]] == [(job["signature"], False)]

    again = wang.insert("signature", ticket_id=ticket, blob_sha256=wang.put_blob(signature_png()), signer_name="刘建国",
                        signed_at="2026-11-24T10:00:00+08:00", report_hash=wang.report_hash(ticket))
    wang.sync()
    answer = verify_pdf(client, people["desk"], fetch_pdf(client, people["desk"], ticket)).json
    assert (answer["verified"], [s["signature_id"] for s in answer["signatures"]]) == (True, [again])


def test_an_unsigned_ticket_prints_as_unsigned_and_verifies_as_unsigned(people, replica_for, client):
    desk = replica_for(people["desk"])
    customer = desk.insert("customer", name="杭州西湖区人民医院", address="杭州市西湖区文三路 9 号")
    ticket = desk.insert("ticket", customer_id=customer, status="reported", fault_description="CT 机无法开机")
    desk.sync()
    pdf = fetch_pdf(client, people["desk"], ticket)
    text = "".join(text_of(pdf).split())
    assert "杭州西湖区人民医院" in text and "签字状态未签字" in text and "CT机无法开机" in text
    answer = verify_pdf(client, people["desk"], pdf).json
    assert (answer["verified"], answer["reason"]) == (False, "unsigned")


def test_an_unreadable_signature_image_is_said_so_and_the_pdf_still_verifies(people, replica_for, client):
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    ticket = desk.insert("ticket", assignee_id="u-wang", status="dispatched", fault_description="打印头堵塞")
    desk.sync()
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    wang.update("ticket", ticket, diagnosis="喷头干涸", actions="清洗喷头", result="打印正常")
    wang.update("ticket", ticket, status="completed", completed_at="2026-11-23T11:05:00+08:00")
    wang.insert("signature", ticket_id=ticket, blob_sha256=wang.put_blob("不是图片".encode()), signer_name="赵女士",
                signed_at="2026-11-23T11:10:00+08:00", report_hash=wang.report_hash(ticket))
    wang.sync()
    pdf = fetch_pdf(client, people["desk"], ticket)
    assert "签字图像未收到或无法显示" in "".join(text_of(pdf).split())
    assert verify_pdf(client, people["desk"], pdf).json["verified"] is True


def plain_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(0, 10, "not a service report")
    return bytes(pdf.output())


@pytest.mark.parametrize("body, code", [
    (b"hello", "invalid_pdf"),
    (b"%PDF-1.7\n garbage that is no PDF", "invalid_pdf"),
    ("%PDF-１.７ 报告".encode(), "invalid_pdf"),
    (b"", "invalid_pdf"),
    (b"%PDF-" + b"0" * MAX_PDF_BYTES, "pdf_too_large"),
    (plain_pdf(), "not_a_service_report"),
])
def test_what_is_not_a_service_report_pdf_is_refused_with_its_code(people, client, body, code):
    answer = verify_pdf(client, people["desk"], body)
    assert (answer.status_code, answer.json["code"]) == (422, code)


@pytest.mark.parametrize("body, code", [
    ({"hash": "abc"}, "invalid_hash"),
    ({"hash": "A" * 64}, "invalid_hash"),
    ({"hash": "５" * 64}, "invalid_hash"),
    ({"hash": "0" * 63 + "\n"}, "invalid_hash"),
    ({"hash": 5}, "invalid_hash"),
    ({"hash": None}, "invalid_hash"),
    ({"hash": ["0" * 64]}, "invalid_hash"),
    ({}, "invalid"),
    ({"hash": "0" * 64, "ticket": "x"}, "invalid"),
    ([], "invalid"),
])
def test_a_malformed_hash_is_refused_with_its_code(people, client, body, code):
    answer = client.post(VERIFY, json=body, headers=auth_header(people["desk"]))
    assert (answer.status_code, answer.json["code"]) == (422, code)


def test_a_hash_nobody_signed_is_answered_unsigned_and_only_the_office_verifies(people, client):
    answer = verify_hash(client, people["desk"], "0" * 64)
    assert (answer.status_code, answer.json["verified"], answer.json["reason"]) == (200, False, "unsigned")
    for outsider in ("wang", "depot"):
        answer = verify_hash(client, people[outsider], "0" * 64)
        assert (answer.status_code, answer.json["code"]) == (403, "forbidden")
    answer = client.post(VERIFY, data="hash=0", headers=auth_header(people["desk"]) | {"Content-Type": "text/plain"})
    assert (answer.status_code, answer.json["code"]) == (422, "invalid")
    answer = client.post(VERIFY, data=b"{not json", headers=auth_header(people["desk"]) |
                         {"Content-Type": "application/json"})
    assert (answer.status_code, answer.json["code"]) == (422, "invalid")


def test_a_signature_made_in_report_format_1_prints_and_verifies_in_its_own_format(people, replica_for, client):
    """A tablet signed before format 2 existed: the PDF attaches the report in format 1,
    whose bytes that signature hashes, and says which format it is."""
    desk, wang = replica_for(people["desk"]), replica_for(people["wang"])
    part = desk.insert("part", code="FAN-08", name="风扇紧固螺母", unit="个", returnable=False, price=2.0)
    van = desk.insert("stock_location", kind="van", name="王师傅的服务车", engineer_id="u-wang")
    ticket = desk.insert("ticket", assignee_id="u-wang", status="dispatched", fault_description="空调外机噪音大")
    desk.sync()
    wang.sync()
    wang.update("ticket", ticket, status="on_site", arrived_at="2026-11-23T09:40:00+08:00")
    nut = wang.insert("stock_movement", kind="consume", part_id=part, qty=4, condition="new", from_location_id=van,
                      ticket_id=ticket, held_by="u-wang", occurred_at="2026-11-23T10:20:00+08:00")
    wang.update("ticket", ticket, diagnosis="风扇叶片松动", actions="紧固风扇叶片", result="噪音消除")
    wang.update("ticket", ticket, status="completed", completed_at="2026-11-23T11:05:00+08:00")
    old_hash = report_hash(ticket, wang.get("ticket", ticket), [wang.get("stock_movement", nut)], report_format=1)
    assert old_hash != wang.report_hash(ticket)  # format 1 writes the 4 nuts as 4.0
    signature = wang.insert("signature", ticket_id=ticket, blob_sha256=wang.put_blob(signature_png()),
                            signer_name="孙先生", signed_at="2026-11-23T11:10:00+08:00", report_hash=old_hash,
                            report_format=1)
    wang.sync()
    pdf = fetch_pdf(client, people["desk"], ticket)
    assert hashlib.sha256(attachments_of(pdf)[CANONICAL_NAME]).hexdigest() == old_hash
    assert b'"parts":[["' + part.encode() + b'",4.0]]' in attachments_of(pdf)[CANONICAL_NAME]
    assert "1（早期格式：键排序JSON" in "".join(text_of(pdf).split())
    answer = verify_pdf(client, people["desk"], pdf).json
    assert (answer["verified"], [(s["signature_id"], s["report_format"]) for s in answer["signatures"]]) == (
        True, [(signature, 1)])
