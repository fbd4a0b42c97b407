"""The lists' order (workers, clocks, a clock's roster, a worker's clocks): names sort as people
read them, whatever the database's locale. Under the C locale ``ORDER BY name`` sorted bytes:
"Zoë" before "Åsa" and "Émile". The rule lives in the kit, once: ICU's root collation, the one
``folded`` already searches with, and the one the lists' indexes are built in."""

from punchcard_kit.db import UNICODE_CASE, folded, ordered


def test_a_name_is_sorted_in_icus_root_collation():
    assert ordered("w.name") == 'w.name COLLATE "und-x-icu"'
    assert ordered("c.name") == 'c.name COLLATE "und-x-icu"'


def test_the_order_and_the_search_are_one_collation():
    # An index of ``name COLLATE "und-x-icu"`` serves ``ORDER BY ordered('name')`` only when
    # the collations are the same; the search folds case in it too.
    assert ordered("x").endswith(f"COLLATE {UNICODE_CASE}")
    assert folded("x") == f"lower({ordered('x')})"
