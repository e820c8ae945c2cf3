"""How big the next pull page is, and how far a long pull has come.

A page is the unit a cut can cost: a page that arrives whole is kept, one cut mid-body
is asked for again. On a weak link the engine therefore asks for pages the link carries
in a few seconds, and for smaller ones after a cut; on a good link, for the most the
replica asks (:data:`sync.pull.PAGE_SIZE`). :class:`Pacer` decides from what it saw —
rows per page, seconds between pages, cuts — and never reads a clock itself: the pull
hands it the times, from the replica's injected clock.

:class:`Progress` is what a field app shows during a long sync: rows received of an
estimated total (the server's estimate, asked with the pull's first page), pages, and
the bytes of the pages as the server sent them before compression is undone (what a
page costs on the wire is the transport's to know; these are the JSON bytes).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Pacer", "Progress", "TARGET_S", "LEAST", "FIRST"]

#: the seconds a page should take on the link: a cut then costs at most about that much
TARGET_S = 2.0
#: the fewest rows a page is asked for (below this, a page's head costs more than its rows)
LEAST = 250
#: the first page's rows, before anything is known of the link: on the edge of coverage
#: about 2 s, and on a good link two doublings reach the most
FIRST = 1000


@dataclass
class Pacer:
    """The next page's size: :data:`FIRST` rows at first, at most ``most``; halved after a
    cut; cut to what the link carries in :data:`TARGET_S` after a slow page; doubled (up
    to ``most``) after a whole page that took less than half that."""

    most: int
    size: int = 0
    target_s: float = TARGET_S
    least: int = LEAST

    def __post_init__(self) -> None:
        self.size = self.size or min(self.most, FIRST)

    def cut(self) -> None:
        """A page was cut on its way (asked again, or the sync stopped)."""
        self.size = max(min(self.least, self.most), self.size // 2)

    def page(self, rows: int, seconds: float, cuts: int = 0) -> None:
        """A page of ``rows`` arrived, ``seconds`` after the one before it (or after it was
        asked, for the first), cut ``cuts`` times on the way."""
        for _ in range(cuts):
            self.cut()
        if cuts or rows <= 0:
            return
        if seconds > self.target_s:
            self.size = max(min(self.least, self.most), min(self.size, int(rows * self.target_s / seconds)))
        elif rows >= self.size and seconds < self.target_s / 2:
            self.size = min(self.most, self.size * 2)


@dataclass
class Progress:
    """A pull under way: ``rows`` received of about ``estimated`` (``None`` until the
    server said), in ``pages``, ``bytes`` of page JSON."""

    rows: int = 0
    estimated: int | None = None
    pages: int = 0
    bytes: int = 0

    @property
    def fraction(self) -> float | None:
        """How much is done, 0 to 1, for a progress bar (``None`` without an estimate)."""
        if not self.estimated:
            return None
        return min(1.0, self.rows / self.estimated)
