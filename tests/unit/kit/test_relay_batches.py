"""A relay batch stops at its byte bound as well as its row bound, and always takes one row."""

from punchcard_kit.messaging.relay import batch_cut


def test_a_batch_takes_the_rows_that_fit_in_the_byte_bound():
    assert batch_cut([400, 400, 400, 400], 1000) == 2
    assert batch_cut([400, 600, 1], 1000) == 2  # exactly at the bound still fits


def test_small_rows_all_fit():
    assert batch_cut([10] * 500, 16 * 1024 * 1024) == 500


def test_a_row_larger_than_the_bound_goes_alone():
    assert batch_cut([5000, 10], 1000) == 1
    assert batch_cut([10, 5000], 1000) == 1


def test_no_rows_no_batch():
    assert batch_cut([], 1000) == 0
