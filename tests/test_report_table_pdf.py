"""Every report answers as a printable PDF too (``server/reports/table.py``): the same
columns, by their Chinese titles, and rows as the JSON and the CSV, in a landscape table
under the report's title and the filters asked — read back by text extraction and by
rendering the first page."""

from __future__ import annotations

import io

import orjson
import pypdfium2 as pdfium
import pytest

from server.reports.table import Column, answer
from sync.errors import ValidationError

COLUMNS = [Column("engineer", "工程师"), Column("day", "日期"), Column("hours_a", "A类工时"),
           Column("tickets", "工单数"), Column("late", "迟报"), Column("note", "备注")]
ROWS = [
    {"engineer": "王建军", "day": "2026-11-23", "hours_a": 6.5, "tickets": 3, "late": False, "note": "浦东张江路抢修"},
    {"engineer": "陈晓东", "day": "2026-11-23", "hours_a": 4.0, "tickets": 2, "late": True,
     "note": "离线三天后补传，=SUM(A1) 不是公式"},
]
PATH = "/v1/office/reports/technician-daily"


def asked(app, query: str = "", **headers):
    """``answer`` for the daily report as the request ``PATH?query`` asks it."""
    with app.test_request_context(f"{PATH}?{query}", headers=headers):
        return answer("technician-daily", COLUMNS, ROWS, next_cursor=None, title="技术员日报")


def pages_text(pdf: bytes) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def test_the_daily_report_prints_as_a_landscape_table_with_its_title_filters_and_chinese_rows(app, tmp_path):
    response = asked(app, "format=pdf&from=2026-11-01&to=2026-11-30&zone=浦东&engineer=u-wang")
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'inline; filename="technician-daily.pdf"'
    pdf = response.get_data()
    (text,) = pages_text(pdf)
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "技术员日报"
    assert lines[1] == "筛选条件：起始日期：2026-11-01；截止日期：2026-11-30；区域：浦东；工程师：u-wang"
    assert lines[2].endswith("共 2 行")
    assert lines[3:] == ["工程师 日期 A类工时 工单数 迟报 备注",  # a row of cells reads as one line
                         "王建军 2026-11-23 6.5 3 否 浦东张江路抢修",
                         "陈晓东 2026-11-23 4 2 是 离线三天后补传，=SUM(A1) 不是公式",
                         "第 1 / 1 页"]
    assert b"/FontFile3" in pdf and b"+NotoSansSC" in pdf

    document = pdfium.PdfDocument(pdf)
    try:
        width, height = document[0].get_size()
        image = document[0].render(scale=2).to_pil().convert("L")
    finally:
        document.close()
    assert width > height  # landscape A4: 842 × 595 points
    image.save(tmp_path / "daily.png")
    top = image.crop((0, 0, image.width, image.height // 3))
    assert sum(top.histogram()[:128]) > 3_000  # title, filters and the table's first rows in ink
    assert sum(image.crop((0, image.height // 2, image.width, image.height - 60)).histogram()[:128]) == 0


def test_a_long_report_repeats_its_header_on_every_page_and_numbers_the_pages(app):
    rows = [{"engineer": f"工程师{i:03d}", "day": "2026-11-23", "hours_a": i / 4, "tickets": i, "late": i % 7 == 0,
             "note": "上海市浦东新区张江路" * (1 + i % 3)} for i in range(90)]
    with app.test_request_context(f"{PATH}?format=pdf"):
        pdf = answer("technician-daily", COLUMNS, rows, next_cursor="c-90", title="技术员日报").get_data()
    pages = pages_text(pdf)
    assert len(pages) >= 3
    for number, page in enumerate(pages, start=1):
        assert "工程师日期A类工时" in "".join(page.split())  # the header row on each page
        assert page.rstrip().endswith(f"第 {number} / {len(pages)} 页")
    everything = "".join("".join(p.split()) for p in pages)
    assert all(f"工程师{i:03d}" in everything for i in range(90))
    assert "筛选条件：无（全部）" in pages[0] and "本页之后还有记录" in pages[0]


def test_an_empty_report_prints_its_header_and_says_there_is_nothing(app):
    with app.test_request_context(f"{PATH}?format=pdf&month=2026-02"):
        pdf = answer("technician-daily", COLUMNS, [], title="技术员日报").get_data()
    text = "".join(pages_text(pdf)[0].split())
    assert "月份：2026-02" in text and "共0行" in text and "工程师日期A类工时工单数迟报备注无记录" in text


def test_the_pdf_pages_like_the_csv_with_a_link_to_the_next_page(app):
    with app.test_request_context(f"{PATH}?format=pdf&zone=浦东"):
        response = answer("technician-daily", COLUMNS, ROWS, next_cursor="abc", title="技术员日报")
    assert response.headers["Link"] == f'<{PATH}?format=pdf&zone=%E6%B5%A6%E4%B8%9C&cursor=abc>; rel="next"'


def test_accept_pdf_chooses_the_pdf_and_json_and_csv_answer_as_before(app):
    assert asked(app, Accept="application/pdf").mimetype == "application/pdf"
    assert asked(app, Accept="*/*").mimetype == "application/json"
    assert asked(app, Accept="text/csv").mimetype == "text/csv"
    body = orjson.loads(asked(app).get_data())
    assert body["rows"] == ROWS and [c["title"] for c in body["columns"]] == [c.title for c in COLUMNS]
    csv_text = asked(app, "format=csv").get_data().decode("utf-8")
    assert csv_text.startswith("\ufeff工程师,日期,A类工时,工单数,迟报,备注\r\n王建军,2026-11-23,6.5,3,0,浦东张江路抢修\r\n")


@pytest.mark.parametrize("chosen", ["PDF", "ｐｄｆ", "xlsx", "", "pdf "])
def test_a_format_that_is_not_json_csv_or_pdf_is_refused(app, chosen):
    with pytest.raises(ValidationError) as refused:
        asked(app, f"format={chosen}")
    assert (refused.value.status, refused.value.field) == (422, "format")


def test_text_the_font_cannot_draw_is_left_out_not_failed_on(app):
    rows = [{"engineer": "王建军😀", "day": "2026-11-23\x00", "note": "\u202e倒序"}]
    with app.test_request_context(f"{PATH}?format=pdf&zone=浦东🚚"):
        pdf = answer("technician-daily", COLUMNS, rows, title="技术员日报").get_data()
    text = "".join(pages_text(pdf)[0].split())
    assert "区域：浦东" in text and "王建军2026-11-23" in text and "倒序" in text
