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
    import pytest

    for text in ["", "abc", "1:2:3", "000000000000001:0000x:n", None, 5]:
        with pytest.raises(ValueError):
            hlc.parse(text)
