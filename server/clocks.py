"""A device's clock, measured at each push: the offset its writes are ordered by.

A change-set carries the device's clock as it was sent (``sent_at_ms``, on the time
line of its stamps: jumps taken out, :mod:`sync.wallclock`). The server's time on
arrival minus that is the device's offset, whatever it did offline: a day offline with a
right clock is no skew, a phone three days fast is three days. Each stamp of the push is
moved by it onto the server's time line, and ordered by that — so a later write in real
time wins, whichever phone was wrong and however long it waited to sync. Corrected
stamps are never later than the arrival, and each is later than every stamp the server
gave the device before (:attr:`devices.last_hlc`), so a device's writes keep the order it
made them in even as the measured offset wobbles by the network's delay.

The measurement includes the request's time on the wire (its body's upload, seconds on
a weak link), so an offset within ``tolerance_ms`` is no skew: a phone on network time is
right to well under a second, and its own clock orders its writes better than the
measurement could. Beyond it the error left is the wire time, small beside the offset.

The measurement, when it was made and the device's newest stamp go on its ``devices``
row in the push's transaction (one read and one write a push, none a mutation): the
device list shows each device's skew. A client that sends no ``sent_at_ms`` is ordered
as before: by its own clock, re-stamped only beyond :data:`sync.hlc.MAX_DRIFT_MS` ahead.
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from sync import hlc

from . import driver

__all__ = ["DeviceClock", "measure", "record"]


class DeviceClock:
    """One device's clock as a push measured it; :meth:`order` corrects its stamps."""

    def __init__(self, device_id: str, now_ms: int, sent_at_ms: int, floor: str | None, tolerance_ms: int):
        self.device_id = device_id
        self.now_ms = now_ms
        #: the device's clock minus the server's as measured (positive: the device runs fast)
        self.skew_ms = sent_at_ms - now_ms
        #: what its stamps are corrected by: the skew, or nothing within the tolerance
        self.correction_ms = self.skew_ms if abs(self.skew_ms) > tolerance_ms else 0
        #: the newest stamp given to the device (the floor of its next push)
        self.newest = floor
        target = self._target = [now_ms]  # read by the clock; no reference back to ``self``
        self._clock = hlc.Clock(device_id, wall=lambda: target[0], last=hlc.parse(floor) if floor else None)

    def order(self, stamp: str) -> str:
        """``stamp`` on the server's time line: its wall minus the skew, no later than the
        arrival and not before 1970, after every earlier stamp of the device; its node kept."""
        self._target[0] = max(0, min(hlc.wall_of(stamp) - self.correction_ms, self.now_ms))
        corrected = self._clock.tick()
        self.newest = str(corrected)
        return hlc.format_hlc(corrected.wall, corrected.counter, stamp.split(":", 2)[2])


def measure(conn: sa.Connection, device_id: str, sent_at_ms: int | None, now_ms: int,
            tolerance_ms: int) -> DeviceClock | None:
    """The device's clock for this push, or ``None`` for a client that did not say."""
    if sent_at_ms is None:
        return None
    found = driver.fetch(conn, "SELECT last_hlc FROM devices WHERE id = ?", [device_id])
    return DeviceClock(device_id, now_ms, sent_at_ms, found[0][0] if found else None, tolerance_ms)


def record(conn: sa.Connection, clock: DeviceClock) -> None:
    """Keep the measurement on the device's row: its skew, when, and its newest stamp."""
    measured_at = driver.stamp(conn, datetime.fromtimestamp(clock.now_ms / 1000, timezone.utc))
    driver.run(conn, "UPDATE devices SET clock_skew_ms = ?, clock_measured_at = ?, last_hlc = ? WHERE id = ?",
                   [clock.skew_ms, measured_at, clock.newest, clock.device_id])
