import random
import re
from datetime import datetime, timezone

import pytest

from sync import hlc


def test_timestamps_order_as_strings_and_parse_back():
    clock = hlc.Clock("dev-a", wall=lambda: 1_000)
    first, second = clock.tick(), clock.tick()
    assert str(first) < str(second)
    assert hlc.parse(str(second)) == second


def test_a_clock_moves_past_a_remote_timestamp_from_the_future():
    clock = hlc.Clock("dev-a", wall=lambda: 1_000)
    remote = hlc.Timestamp(5_000, 7, "dev-b")
    seen = clock.observe(remote)
    assert seen > remote
    assert clock.tick() > seen


def test_a_clock_resumed_from_its_last_stamp_never_goes_back():
    last = hlc.Timestamp(9_000, 3, "dev-a")
    clock = hlc.Clock("dev-a", wall=lambda: 1_000, last=last)
    assert clock.tick() > last


def test_counter_overflow_carries_into_wall_time():
    clock = hlc.Clock("n", wall=lambda: 10, last=hlc.Timestamp(10, 99_999, "n"))
    assert clock.tick() == hlc.Timestamp(11, 0, "n")


def test_garbage_is_not_a_timestamp():
    for text in ["", "abc", "1:2:3", "000000000000001:0000x:n", None, 5]:
        with pytest.raises(ValueError):
            hlc.parse(text)


@pytest.mark.parametrize("wall", [
    "０" * 15,  # full-width: sorts after every ASCII digit, so it would win every race
    "٣" * 15,  # Arabic-Indic
    "۰" * 14 + "1",  # Extended Arabic-Indic
    "१" * 15,  # Devanagari
    "²" + "0" * 14,  # superscript two: isdigit() says yes
])
def test_a_clock_written_in_other_scripts_digits_is_not_a_timestamp(wall):
    with pytest.raises(ValueError):
        hlc.parse(f"{wall}:00000:d-wang")


def test_a_clock_past_the_last_millisecond_of_the_year_9999_is_not_a_timestamp():
    last = hlc.parse(f"{hlc.MAX_WALL_MS:015d}:00000:d-wang")
    assert datetime.fromtimestamp(last.wall / 1000, timezone.utc).year == 9999
    for wall in (hlc.MAX_WALL_MS + 1, 999_999_999_999_999):
        with pytest.raises(ValueError):
            hlc.parse(f"{wall:015d}:00000:d-wang")


def test_a_clock_whose_node_holds_half_a_character_is_not_a_timestamp():
    with pytest.raises(ValueError):
        hlc.parse("000000000000001:00000:张\ud83d")


def test_the_documented_clock_pattern_takes_exactly_the_walls_parse_takes():
    """The OpenAPI document's pattern is the parser's: a client validating with it is
    never refused by the server, nor the other way round."""
    rng = random.Random(14)
    pattern = re.compile(hlc.PATTERN)
    walls = [rng.randrange(10**15) for _ in range(2000)]
    walls += [hlc.MAX_WALL_MS + d for d in range(-1500, 1500)] + [0, 10**14, 2 * 10**14, 3 * 10**14]
    for wall in walls:
        text = f"{wall:015d}:00042:d-wang"
        assert bool(pattern.fullmatch(text)) == (wall <= hlc.MAX_WALL_MS), text
        try:
            parsed = hlc.parse(text)
        except ValueError:
            parsed = None
        assert (parsed is not None) == (wall <= hlc.MAX_WALL_MS), text
