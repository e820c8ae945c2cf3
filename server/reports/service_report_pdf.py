"""The signed service report as a PDF, drawn from its document (no Flask here).

The page is a list of blocks made from the document by :func:`blocks`; the PDF draws
them in order and carries two attachments: the canonical report bytes the customer's
signature hashes (``service-report.json``) and the document the page was drawn from
(``service-report-document.json``). Verification reads both back, recomputes the hash
from the bytes and draws the blocks again from the document: a reader's PDF whose
visible text was changed no longer reads as :func:`visible_text` of its document
(docs/decisions.md, "Service report PDF verification").
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import orjson
from fpdf.fonts import FontFace

from .pdf_page import FONT, drawn, new_pdf
from .service_report import ServiceReport

__all__ = ["CANONICAL_NAME", "DOCUMENT_NAME", "Block", "blocks", "visible_text", "build_pdf", "render"]

CANONICAL_NAME = "service-report.json"
DOCUMENT_NAME = "service-report-document.json"

_REPORT_LABELS = (
    ("fault_description", "故障描述"), ("diagnosis_listen", "听诊"), ("diagnosis_look", "目视检查"),
    ("diagnosis_check", "测试检查"), ("diagnosis", "诊断结论"), ("cause", "故障原因"), ("actions", "处理措施"),
    ("result", "处理结果"),
)
#: how each report format writes the canonical bytes (sync/report.py)
_FORMATS = {2: "RFC 8785 规范化 JSON", 1: "早期格式：键排序 JSON"}
#: the diagnosis's steps, shown only when the engineer wrote them
_OPTIONAL = ("diagnosis_listen", "diagnosis_look", "diagnosis_check")
_DESCRIPTIONS = {CANONICAL_NAME: "the canonical service report the signature hashes (sync/report.py)",
                 DOCUMENT_NAME: "the content this PDF was drawn from"}
_HEADINGS = FontFace(fill_color=(240, 240, 240))
_LABEL_WIDTH = 30
_ROW = 5.8


@dataclass(frozen=True)
class Block:
    """One thing on the page: ``title``, ``heading``, ``field`` (label, value), ``table``
    (header and rows of cells, each column's share of the width) or ``signature`` (the image)."""

    kind: str
    cells: tuple = ()
    rows: tuple = ()
    widths: tuple = ()


def _text(value) -> str:
    if value is None or value == "":
        return "—"
    return str(value)


def _qty(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _text(value)


def blocks(document: dict) -> list[Block]:
    """The page's content, in the order it is drawn: a pure function of the document."""
    customer = document.get("customer") or {}
    equipment = document.get("equipment") or {}
    report = document.get("report") or {}
    signature = document.get("signature")
    out = [
        Block("title", ("售后服务报告",)),
        Block("field", ("工单号", _text(document.get("ticket_number")))),
        Block("field", ("工单标识", _text(document.get("ticket_id")))),
        Block("heading", ("客户与设备",)),
        Block("field", ("客户", _text(customer.get("name")))),
        Block("field", ("地址", _text(customer.get("address")))),
        Block("field", ("电话", _text(customer.get("phone")))),
        Block("field", ("设备型号", _text(equipment.get("model")))),
        Block("field", ("序列号", _text(equipment.get("serial")))),
        Block("field", ("服务工程师", _text(document.get("engineer")))),
        Block("field", ("服务类别", _text(document.get("category")))),
        Block("heading", ("服务内容",)),
        *[Block("field", (label, _text(report.get(name)))) for name, label in _REPORT_LABELS
          if name not in _OPTIONAL or report.get(name) not in (None, "")],
        Block("heading", ("消耗配件",)),
        Block("table", ("编码", "名称", "数量", "单位"),
              tuple((_text(p.get("code")), _text(p.get("name") or p.get("part_id")), _qty(p.get("qty")),
                     _text(p.get("unit"))) for p in document.get("parts") or []) or (("—", "无", "—", "—"),),
              (0.2, 0.5, 0.15, 0.15)),
        Block("heading", ("时间（设备时间为准）",)),
        Block("table", ("事项", "设备时间", "服务器接收时间"),
              tuple((_text(t.get("event")), _text(t.get("device")), _text(t.get("server")))
                    for t in document.get("times") or []), (0.24, 0.38, 0.38)),
        Block("heading", ("客户签字",)),
    ]
    if signature is None:
        out.append(Block("field", ("签字状态", "未签字")))
    else:
        state = "有效（签字对应本报告当前内容）" if signature.get("current") else \
            "已失效（签字后报告内容有改动，需客户重新签字）"
        out += [Block("field", ("签字人", _text(signature.get("signer_name")))),
                Block("field", ("签字时间", _text(signature.get("signed_at")))),
                Block("field", ("签字状态", state)),
                Block("signature", ("签字图像",) if signature.get("image_shown") else ("签字图像", "未收到或无法显示"))]
        if signature.get("signed_hash") != document.get("report_hash"):
            out.append(Block("field", ("签字所签哈希", _text(signature.get("signed_hash")))))
    out += [
        Block("field", ("报告哈希", f"SHA-256 {_text(document.get('report_hash'))}")),
        Block("field", ("报告格式", f"{_text(document.get('report_format'))}"
                                    f"（{_FORMATS.get(document.get('report_format'), '未知格式')}，见附件 "
                                    f"{CANONICAL_NAME}）")),
        Block("field", ("出具时间", _text(document.get("issued_at")))),
    ]
    return out


def visible_text(document: dict) -> str:
    """Every character the page shows, in drawing order, without white space (what a
    text extraction of the PDF must give back, whatever line breaks the layout made)."""
    shown = "".join(cell for block in blocks(document) for row in (block.cells, *block.rows) for cell in row)
    return "".join(drawn(shown).split())


def build_pdf(report: ServiceReport) -> bytes:
    """The report's PDF: its blocks drawn, its canonical report and document attached."""
    return render(blocks(report.document), report.signature_image, {
        CANONICAL_NAME: report.canonical, DOCUMENT_NAME: orjson.dumps(report.document)},
        title=f"售后服务报告 {_text(report.document.get('ticket_number'))}")


def render(page: list[Block], image: bytes | None, attachments: dict[str, bytes], *, title: str) -> bytes:
    """Draw ``page`` and attach ``attachments`` (name: bytes)."""
    pdf = new_pdf(title)
    pdf.add_page()
    for block in page:
        _draw(pdf, block, image)
    for name, data in attachments.items():
        pdf.embed_file(basename=name, bytes=data, desc=_DESCRIPTIONS.get(name, name))
    return bytes(pdf.output())


def _draw(pdf, block: Block, image: bytes | None) -> None:
    width = pdf.epw
    if block.kind == "title":
        pdf.set_font(FONT, size=18)
        pdf.cell(width, 11, block.cells[0], align="C", new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(60, 60, 60)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.ln(2)
        pdf.set_font(FONT, size=10)
    elif block.kind == "heading":
        pdf.ln(1.5)
        pdf.set_font(FONT, size=11.5)
        pdf.set_fill_color(230, 236, 244)
        pdf.cell(width, 7, block.cells[0], fill=True, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
        pdf.set_font(FONT, size=10)
    elif block.kind == "field":
        label, value = block.cells
        pdf.set_text_color(90, 90, 90)
        pdf.cell(_LABEL_WIDTH, _ROW, label)
        pdf.set_text_color(0, 0, 0)
        pdf.multi_cell(width - _LABEL_WIDTH, _ROW, value, align="L", new_x="LMARGIN", new_y="NEXT")
    elif block.kind == "table":
        pdf.set_draw_color(150, 150, 150)
        pdf.set_fill_color(255, 255, 255)
        with pdf.table(col_widths=block.widths, line_height=_ROW, text_align="LEFT", cell_fill_mode="NONE",
                       headings_style=_HEADINGS, padding=(0.8, 1.5)) as table:
            for cells in (block.cells, *block.rows):
                row = table.row()
                for cell in cells:
                    row.cell(cell)
    elif block.kind == "signature":
        pdf.set_text_color(90, 90, 90)
        pdf.cell(_LABEL_WIDTH, _ROW, block.cells[0])
        if len(block.cells) > 1 or image is None:
            pdf.set_text_color(160, 0, 0)
            pdf.cell(width - _LABEL_WIDTH, _ROW, block.cells[-1] if len(block.cells) > 1 else "", new_x="LMARGIN",
                     new_y="NEXT")
        else:
            top = pdf.get_y()
            pdf.image(io.BytesIO(image), x=pdf.l_margin + _LABEL_WIDTH, y=top, w=60, h=22, keep_aspect_ratio=True)
            pdf.set_xy(pdf.l_margin, top + 23)
        pdf.set_text_color(0, 0, 0)


