"""A report's rows as a printable PDF: a landscape table for the monthly meeting.

The same columns (their Chinese titles) and rows as the JSON and the CSV, under a title
with the filters the report was asked with, the time it was made and its row count;
the header row repeats on every page and the pages are numbered. No Flask here:
:func:`server.reports.table.answer` hands over what the request asked.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

import orjson
from fpdf.fonts import FontFace

from .pdf_page import FONT, new_pdf

__all__ = ["FILTER_TITLES", "table_pdf"]

#: the filters the reports take, as the office reads them; another shows by its own name
FILTER_TITLES = {
    "from": "起始日期", "to": "截止日期", "since": "起始时间", "until": "截止时间", "month": "月份",
    "engineer": "工程师", "depot": "仓库", "zone": "区域", "location": "库位", "window_days": "返修窗口（天）",
    "limit": "每页行数",
}
_HEADINGS = FontFace(fill_color=(225, 232, 242))
#: a column never narrower than this share of the width, nor a wide one wider than this
_NARROWEST, _WIDEST = 12.0, 70.0


def cell_text(value) -> str:
    """A value as the table prints it: 是/否 for a flag, a float without a trailing .0."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return repr(round(value, 6)).removesuffix(".0") if value == value else ""
    if isinstance(value, (list, dict)):
        return orjson.dumps(value).decode()
    return str(value)


def table_pdf(title: str, headers: Sequence[str], keys: Sequence[str], rows: Iterable[Mapping],
              filters: Sequence[tuple[str, str]], made_at: str, *, more: bool = False) -> bytes:
    """``rows`` (each a mapping read by ``keys``) under ``headers``, landscape A4."""
    cells = [[cell_text(row.get(key)) for key in keys] for row in rows]
    pdf = new_pdf(title, landscape=True, page_numbers=True)
    pdf.add_page()
    pdf.set_font(FONT, size=16)
    pdf.cell(pdf.epw, 10, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT, size=9)
    pdf.set_text_color(70, 70, 70)
    used = "；".join(f"{FILTER_TITLES.get(name, name)}：{value}" for name, value in filters) or "无（全部）"
    pdf.multi_cell(pdf.epw, 5, f"筛选条件：{used}", align="L", new_x="LMARGIN", new_y="NEXT")
    tail = "；本页之后还有记录，按 next 翻页" if more else ""
    pdf.cell(pdf.epw, 5, f"生成时间：{made_at}；共 {len(cells)} 行{tail}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0, 0, 0)
    pdf.ln(2)
    pdf.set_draw_color(150, 150, 150)
    with pdf.table(col_widths=_widths(pdf, headers, cells), line_height=5.5, text_align="LEFT",
                   headings_style=_HEADINGS, cell_fill_mode="ROWS", cell_fill_color=(246, 246, 246),
                   padding=(0.8, 1.2)) as table:
        for line in (list(headers), *cells):
            row = table.row()
            for text in line:
                row.cell(text)
    if not cells:
        pdf.cell(pdf.epw, 8, "无记录", align="C", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _widths(pdf, headers: Sequence[str], cells: list[list[str]]) -> list[float]:
    """Each column as wide as its widest text (header or first 200 rows), within bounds."""
    widths = []
    for index, header in enumerate(headers):
        texts = [header, *(line[index] for line in cells[:200])]
        widths.append(min(_WIDEST, max(_NARROWEST, max(pdf.get_string_width(t) for t in texts) + 3)))
    return widths
