"""An A4 PDF set in Noto Sans SC, the one font every fieldsync PDF uses.

No CJK font is on a server or a CI machine by default, so the font comes with the
Python package ``pylopdf-fonts-zh-cn`` (Noto Sans SC, SIL Open Font License); fpdf2
embeds the subset of its glyphs a document uses, so the PDF shows its Chinese on any
reader, with or without fonts of its own (docs/decisions.md, "PDF font").
"""

from __future__ import annotations

from functools import lru_cache

from fontTools.ttLib import TTFont
from fpdf import FPDF
from pylopdf_fonts_zh_cn import sans_path

__all__ = ["FONT", "new_pdf", "drawn"]

FONT = "NotoSansSC"


class _Numbered(FPDF):
    """Pages numbered at the foot: "第 n / m 页"."""

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT, size=8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 5, f"第 {self.page_no()} / {{nb}} 页", align="C")
        self.set_text_color(0, 0, 0)


def new_pdf(title: str, *, landscape: bool = False, page_numbers: bool = False) -> FPDF:
    """An empty A4 document in ``FONT`` (10 pt), pages broken 12 mm above the bottom edge."""
    pdf = (_Numbered if page_numbers else FPDF)(orientation="L" if landscape else "P", unit="mm", format="A4")
    pdf.add_font(FONT, fname=str(sans_path()))
    pdf.set_font(FONT, size=10)
    pdf.set_title(title)
    pdf.set_creator("fieldsync")
    pdf.set_auto_page_break(True, margin=15 if page_numbers else 12)
    pdf.set_margins(15, 12, 15)
    # a signature photographed at full resolution is drawn at print resolution, not at its own
    pdf.oversized_images = "DOWNSCALE"
    return pdf


@lru_cache(maxsize=1)
def _glyphs() -> frozenset[int]:
    with TTFont(str(sans_path()), lazy=True) as font:
        return frozenset(font.getBestCmap())


def drawn(text: str) -> str:
    """The characters of ``text`` the font draws (an emoji or a control character has no
    glyph in it: fpdf2 leaves it out of the page, and so of the page's text)."""
    glyphs = _glyphs()
    return "".join(ch for ch in text if ord(ch) in glyphs)
