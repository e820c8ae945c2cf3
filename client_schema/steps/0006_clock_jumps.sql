-- fieldsync device replica, step 5: the wall clock's jumps.
-- Never edit a step once released: add a new one.

-- Each jump of the wall clock the engine saw (set back or forward by the person, or by
-- network time), taken out of every stamp minted after it: a device's stamps stay on one
-- time line, which the server corrects by one offset measured at each push. The sum of
-- jump_ms is how far that line is from the wall clock; the engine resumes on it.
CREATE TABLE _clock_jumps (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    jump_ms INTEGER NOT NULL,
    -- the first stamp minted after the jump was seen
    seen_hlc TEXT NOT NULL
);

-- A write stamped after a jump records it in its own transaction, so a crash before the
-- next sync cannot lose it. fieldsync_clock_frame() is the engine's sum of the jumps it
-- has seen, registered on the connection like fieldsync_hlc().
CREATE TRIGGER _outbox_clock_jump AFTER INSERT ON _outbox
WHEN fieldsync_clock_frame() IS NOT (SELECT coalesce(sum(jump_ms), 0) FROM _clock_jumps)
BEGIN
    INSERT INTO _clock_jumps (jump_ms, seen_hlc)
    SELECT fieldsync_clock_frame() - coalesce(sum(jump_ms), 0), NEW.hlc FROM _clock_jumps;
END;
