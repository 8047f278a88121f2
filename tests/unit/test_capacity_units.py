"""The benchmark's DynamoDB capacity units follow DynamoDB's published sizing rules."""

from bench.wire import item_size, read_units, write_units


def test_an_item_is_its_names_and_values_in_bytes():
    assert item_size({"pk": {"S": "JOB#é"}, "n": {"N": "12345"}, "ok": {"BOOL": True}}) == 2 + 6 + 1 + 4 + 2 + 1


def test_lists_maps_and_sets_count_their_overhead_and_elements():
    assert item_size({"m": {"M": {"a": {"S": "xy"}}}, "l": {"L": [{"S": "z"}]}, "s": {"SS": ["ab", "c"]}}) == (
        1 + (3 + 1 + 1 + 2) + 1 + (3 + 1 + 1) + 1 + 3
    )


def test_a_write_is_a_unit_per_kilobyte_of_the_larger_item_rounded_up():
    small = {"pk": {"S": "x" * 100}}
    large = {"pk": {"S": "x" * 2_100}}

    assert write_units(None, None) == 1  # a refused condition on nothing still costs one
    assert write_units(small, large) == 3
    assert write_units(large, small) == 3


def test_a_read_is_a_unit_per_4_kilobytes_and_half_when_eventually_consistent():
    assert read_units(0, consistent=True) == 1
    assert read_units(4_097, consistent=True) == 2
    assert read_units(4_097, consistent=False) == 1
