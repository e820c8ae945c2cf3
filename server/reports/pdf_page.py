"""An A4 PDF set in Noto Sans SC, the one font every fieldsync PDF uses.

No CJK font is on a server or a CI machine by default, so the font comes with the
Python package ``pylopdf-fonts-zh-cn`` (Noto Sans SC, SIL Open Font License); fpdf2
embeds the subset of its glyphs a document uses, so the PDF shows its Chinese on any
reader, with or without fonts of its own (docs/decisions.md, "PDF font").
"""

from __future__ import annotations

from fpdf import FPDF
from pylopdf_fonts_zh_cn import sans_path

__all__ = ["FONT", "new_pdf"]

FONT = "NotoSansSC"


def new_pdf(title: str, *, landscape: bool = False) -> FPDF:
    """An empty document in ``FONT`` (10 pt), pages broken 15 mm above the bottom edge."""
    pdf = FPDF(orientation="L" if landscape else "P", unit="mm", format="A4")
    pdf.add_font(FONT, fname=str(sans_path()))
    pdf.set_font(FONT, size=10)
    pdf.set_title(title)
    pdf.set_creator("fieldsync")
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_margins(15, 12, 15)
    # a signature photographed at full resolution is drawn at print resolution, not at its own
    pdf.oversized_images = "DOWNSCALE"
    return pdf
