"""Timesheets: IN/OUT pairing for payroll, by example (see test_timesheet_properties.py for the
invariants)."""

import csv
import io
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from punchcard_punch.domain.timesheet import (
    CSV_HEADER,
    LedgerPunch,
    build_timesheets,
    decimal_hours,
    pair_shifts,
    timesheets_csv,
    to_json,
)

BERLIN = "Europe/Berlin"
H = timedelta(hours=1)


def at(local: str, tz: str = BERLIN) -> datetime:
    """The UTC instant of a local wall time ("2026-03-02 08:00") in ``tz``."""
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(tz)).astimezone(UTC)


def punch(pid, direction, local, tz=BERLIN, worker="w1", **kw) -> LedgerPunch:
    return LedgerPunch(pid, worker, direction, at(local, tz), tz, **kw)


def sheets(punches, start="2026-03-01", end="2026-03-31", **kw):
    return build_timesheets(punches, date.fromisoformat(start), date.fromisoformat(end), **kw)


def only_sheet(punches, **kw):
    (sheet,) = sheets(punches, **kw)
    return sheet


def all_shifts(sheet):
    return [shift for day in sheet.days for shift in day.shifts]


def flags(sheet):
    return [(s.day.isoformat(), s.flag) for s in all_shifts(sheet)]


# --- pairing -------------------------------------------------------------------------------


def test_a_normal_day_is_one_complete_shift():
    i, o = punch("a", "IN", "2026-03-02 08:00"), punch("b", "OUT", "2026-03-02 17:00")
    sheet = only_sheet([o, i])
    assert sheet.worker_id == "w1"
    (day,) = sheet.days
    assert day.day == date(2026, 3, 2)
    (shift,) = day.shifts
    assert (shift.in_punch, shift.out_punch, shift.flag) == (i, o, None)
    assert shift.duration == 9 * H
    assert day.total == sheet.total == 9 * H
    assert not day.flagged and sheet.flagged_shifts == 0


def test_two_shifts_on_one_day_add_up():
    sheet = only_sheet(
        [
            punch("a", "IN", "2026-03-02 08:00"),
            punch("b", "OUT", "2026-03-02 12:00"),
            punch("c", "IN", "2026-03-02 12:30"),
            punch("d", "OUT", "2026-03-02 17:00"),
        ]
    )
    (day,) = sheet.days
    assert [s.duration for s in day.shifts] == [4 * H, 4.5 * H]
    assert day.total == sheet.total == 8.5 * H


def test_an_overnight_shift_belongs_to_the_day_it_started():
    shift_punches = [punch("a", "IN", "2026-03-02 22:00"), punch("b", "OUT", "2026-03-03 06:00")]
    sheet = only_sheet(shift_punches)
    (day,) = sheet.days
    assert day.day == date(2026, 3, 2)
    assert day.total == 8 * H
    assert day.shifts[0].flag is None


def test_the_day_is_the_local_date_where_it_was_punched():
    # 23:30 UTC is still Monday in New York but already Tuesday in Berlin.
    for tz, expected in [("America/New_York", date(2026, 3, 2)), (BERLIN, date(2026, 3, 3))]:
        moment = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
        i = LedgerPunch("a", "w1", "IN", moment, tz)
        o = LedgerPunch("b", "w1", "OUT", moment + 2 * H, tz)
        assert [d.day for d in only_sheet([i, o]).days] == [expected]


def test_an_in_while_a_shift_is_open_flags_the_open_shift_missing_out():
    first = punch("a", "IN", "2026-03-02 08:00")
    second = punch("b", "IN", "2026-03-02 09:00")
    out = punch("c", "OUT", "2026-03-02 17:00")
    sheet = only_sheet([first, second, out])
    missing, complete = all_shifts(sheet)
    assert (missing.in_punch, missing.out_punch, missing.flag) == (first, None, "MISSING_OUT")
    assert missing.duration is None
    assert (complete.in_punch, complete.out_punch, complete.flag) == (second, out, None)
    assert sheet.total == 8 * H  # the flagged shift counts nothing
    assert sheet.flagged_shifts == 1 and sheet.days[0].flagged


def test_an_out_with_no_open_shift_is_missing_in():
    lone = punch("a", "OUT", "2026-03-02 07:00")
    sheet = only_sheet(
        [lone, punch("b", "IN", "2026-03-02 08:00"), punch("c", "OUT", "2026-03-02 16:00")]
    )
    missing, complete = all_shifts(sheet)
    assert (missing.in_punch, missing.out_punch, missing.flag) == (None, lone, "MISSING_IN")
    assert missing.duration is None
    assert complete.duration == 8 * H
    assert sheet.total == 8 * H and sheet.flagged_shifts == 1


def test_two_outs_in_a_row_the_second_is_missing_in():
    sheet = only_sheet(
        [
            punch("a", "IN", "2026-03-02 08:00"),
            punch("b", "OUT", "2026-03-02 16:00"),
            punch("c", "OUT", "2026-03-02 16:05"),
        ]
    )
    assert [s.flag for s in all_shifts(sheet)] == [None, "MISSING_IN"]
    assert sheet.total == 8 * H


def test_a_missing_in_belongs_to_the_day_of_its_out_in_the_outs_zone():
    moment = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    sheet = only_sheet([LedgerPunch("a", "w1", "OUT", moment, BERLIN)])
    assert flags(sheet) == [("2026-03-03", "MISSING_IN")]


def test_an_out_beyond_max_shift_is_never_paired():
    i = punch("a", "IN", "2026-03-02 08:00")
    o = punch("b", "OUT", "2026-03-03 09:00")  # 25 h later
    sheet = only_sheet([i, o])
    assert flags(sheet) == [("2026-03-02", "MISSING_OUT"), ("2026-03-03", "MISSING_IN")]
    assert sheet.total == timedelta(0)
    assert sheet.flagged_shifts == 2


def test_max_shift_is_inclusive_and_configurable():
    i = punch("a", "IN", "2026-03-02 08:00")
    exactly = punch("b", "OUT", "2026-03-02 18:00")
    over = punch("b", "OUT", "2026-03-02 18:00:01")
    assert only_sheet([i, exactly], max_shift=10 * H).total == 10 * H
    assert [s.flag for s in all_shifts(only_sheet([i, over], max_shift=10 * H))] == [
        "MISSING_OUT",
        "MISSING_IN",
    ]
    assert only_sheet([i, over]).total == 10 * H + timedelta(seconds=1)  # default 20 h


def test_an_out_at_the_instant_of_its_in_is_not_a_shift():
    # At one instant the OUT comes first: it closes nothing, and the IN is left without an OUT.
    sheet = only_sheet(
        [punch("a", "IN", "2026-03-02 08:00"), punch("b", "OUT", "2026-03-02 08:00")]
    )
    assert [s.flag for s in all_shifts(sheet)] == ["MISSING_IN", "MISSING_OUT"]


@pytest.mark.parametrize("out_id,in_id", [("b", "c"), ("c", "b")])
def test_an_out_and_an_in_at_one_instant_close_a_shift_and_open_the_next(out_id, in_id):
    # A transfer typed to the minute: the same hours whichever punch was entered first (its id).
    sheet = only_sheet(
        [
            punch("a", "IN", "2026-03-02 08:00"),
            punch(out_id, "OUT", "2026-03-02 12:00"),
            punch(in_id, "IN", "2026-03-02 12:00"),
            punch("d", "OUT", "2026-03-02 17:00"),
        ]
    )
    assert [(s.flag, s.duration) for s in all_shifts(sheet)] == [(None, 4 * H), (None, 5 * H)]


def test_punches_at_one_instant_in_the_same_direction_are_ordered_by_punch_id():
    sheet = only_sheet([punch("b", "IN", "2026-03-02 08:00"), punch("a", "IN", "2026-03-02 08:00")])
    assert [s.in_punch.punch_id for s in all_shifts(sheet)] == ["a", "b"]


# --- directions the ledger guessed ---------------------------------------------------------

RESET = timedelta(hours=12)


def guessed(pid, direction, local, **kw) -> LedgerPunch:
    return punch(pid, direction, local, inferred=True, **kw)


def week_without_monday_8am():
    """Mon 2 - Fri 6 March, 08:00-17:00 at a kiosk with no IN/OUT buttons; Monday's 08:00
    forgotten. The directions as a ledger with a 16-h reset guessed them: every rest an OUT."""
    punches, direction = [], "IN"
    for day in range(2, 7):
        for hour in (8, 17):
            if (day, hour) == (2, 8):
                continue
            punches.append(guessed(f"{day}-{hour}", direction, f"2026-03-0{day} {hour:02}:00"))
            direction = "OUT" if direction == "IN" else "IN"
    return punches


def test_a_forgotten_punch_is_one_flagged_day_not_a_week_of_rests_paid_as_work():
    sheet = only_sheet(week_without_monday_8am(), toggle_reset=RESET)
    assert sheet.total == 4 * 9 * H  # Tuesday to Friday
    assert flags(sheet) == [("2026-03-02", "MISSING_OUT")] + [
        (f"2026-03-0{d}", None) for d in range(3, 7)
    ]
    # As the ledger recorded them: 17:00-08:00 "shifts", four of them.
    assert only_sheet(week_without_monday_8am()).total == 4 * 15 * H


def test_an_admins_missed_punch_puts_the_guesses_after_it_right():
    fixed = [punch("fix", "IN", "2026-03-02 08:00", method="MANUAL"), *week_without_monday_8am()]
    sheet = only_sheet(fixed, toggle_reset=RESET)
    assert sheet.total == 5 * 9 * H and sheet.flagged_shifts == 0


def test_a_late_offline_upload_puts_the_guess_after_it_right():
    # 17:00 online, guessed IN (nothing before it then); 08:00 from an offline clock, later.
    day = [guessed("b", "IN", "2026-03-02 17:00"), guessed("a", "IN", "2026-03-02 08:00")]
    assert only_sheet(day, toggle_reset=RESET).total == 9 * H
    assert only_sheet(day).total == timedelta(0)


def test_a_direction_the_kiosk_gave_is_never_guessed_again():
    day = [
        punch("a", "IN", "2026-03-02 08:00"),
        punch("b", "IN", "2026-03-02 12:00"),  # the kiosk said IN: a missing OUT before it
        guessed("c", "OUT", "2026-03-02 17:00"),
    ]
    sheet = only_sheet(day, toggle_reset=RESET)
    assert [(s.flag, s.duration) for s in all_shifts(sheet)] == [
        ("MISSING_OUT", None),
        (None, 5 * H),
    ]


# --- a site's report -----------------------------------------------------------------------


def test_a_sites_report_holds_the_shifts_that_began_there():
    # Monday at site A, Tuesday at B, Wednesday from A to B (a transfer mid-shift).
    week = [
        punch("a1", "IN", "2026-03-02 08:00", site_id="A"),
        punch("a2", "OUT", "2026-03-02 16:00", site_id="A"),
        punch("b1", "IN", "2026-03-03 08:00", site_id="B"),
        punch("b2", "OUT", "2026-03-03 16:00", site_id="B"),
        punch("c1", "IN", "2026-03-04 08:00", site_id="A"),
        punch("c2", "OUT", "2026-03-04 16:00", site_id="B"),
        punch("d1", "OUT", "2026-03-05 16:00", site_id="B"),  # its IN forgotten
    ]
    at_a, at_b = only_sheet(week, sites={"A"}), only_sheet(week, sites={"B"})
    assert [s.in_punch.punch_id for s in all_shifts(at_a)] == ["a1", "c1"]
    assert at_a.total == 16 * H
    assert [(s.flag, s.duration) for s in all_shifts(at_b)] == [(None, 8 * H), ("MISSING_IN", None)]
    assert only_sheet(week).total == at_a.total + at_b.total  # each hour on one site's report
    assert sheets(week, sites={"C"}) == []  # no shift began there: the worker is not listed
    assert only_sheet(week, sites={"A", "B"}).total == only_sheet(week).total  # a manager of both


# --- the shift still open ------------------------------------------------------------------


def test_the_last_open_shift_is_open_when_the_worker_is_on_shift_now():
    i = punch("a", "IN", "2026-03-02 08:00")
    assert flags(only_sheet([i], now=i.at + 2 * H)) == [("2026-03-02", "OPEN")]
    shift = all_shifts(only_sheet([i], now=i.at + 2 * H))[0]
    assert shift.duration is None and shift.out_punch is None


def test_the_last_open_shift_is_missing_out_once_max_shift_has_passed_or_without_now():
    i = punch("a", "IN", "2026-03-02 08:00")
    assert flags(only_sheet([i], now=i.at + 21 * H)) == [("2026-03-02", "MISSING_OUT")]
    assert flags(only_sheet([i], now=i.at + 20 * H)) == [("2026-03-02", "MISSING_OUT")]
    assert flags(only_sheet([i], now=i.at + 20 * H - timedelta(seconds=1))) == [
        ("2026-03-02", "OPEN")
    ]
    assert flags(only_sheet([i])) == [("2026-03-02", "MISSING_OUT")]
    assert flags(only_sheet([i], now=i.at + 5 * H, max_shift=4 * H)) == [
        ("2026-03-02", "MISSING_OUT")
    ]


def test_only_the_last_shift_can_be_open():
    first, second = punch("a", "IN", "2026-03-02 08:00"), punch("b", "IN", "2026-03-02 09:00")
    sheet = only_sheet([first, second], now=second.at + H)
    assert [s.flag for s in all_shifts(sheet)] == ["MISSING_OUT", "OPEN"]
    assert sheet.flagged_shifts == 2 and sheet.total == timedelta(0)


def test_now_in_another_zone_compares_as_an_instant():
    i = punch("a", "IN", "2026-03-02 08:00")
    now = (i.at + 19 * H).astimezone(ZoneInfo("Asia/Tokyo"))
    assert flags(only_sheet([i], now=now)) == [("2026-03-02", "OPEN")]


# --- DST -----------------------------------------------------------------------------------


def test_spring_forward_night_counts_the_hours_actually_worked():
    # Berlin 2026-03-29: 02:00 CET becomes 03:00 CEST; 00:30-05:30 on the wall is 4 h.
    sheet = only_sheet(
        [punch("a", "IN", "2026-03-29 00:30"), punch("b", "OUT", "2026-03-29 05:30")]
    )
    assert sheet.total == 4 * H
    assert sheet.days[0].day == date(2026, 3, 29)


def test_fall_back_night_counts_the_hours_actually_worked():
    # Berlin 2026-10-25: 03:00 CEST becomes 02:00 CET; 00:30-05:30 on the wall is 6 h.
    sheet = only_sheet(
        [punch("a", "IN", "2026-10-25 00:30"), punch("b", "OUT", "2026-10-25 05:30")],
        start="2026-10-01",
        end="2026-10-31",
    )
    assert sheet.total == 6 * H
    assert sheet.days[0].day == date(2026, 10, 25)


def test_an_overnight_shift_across_the_change_belongs_to_its_first_day():
    sheet = only_sheet(
        [punch("a", "IN", "2026-03-28 22:00"), punch("b", "OUT", "2026-03-29 07:00")]
    )
    assert [(d.day, d.total) for d in sheet.days] == [(date(2026, 3, 28), 8 * H)]


def test_same_zone_aware_times_are_still_subtracted_in_utc():
    tz = ZoneInfo(BERLIN)
    i = LedgerPunch("a", "w1", "IN", datetime(2026, 3, 29, 0, 30, tzinfo=tz), BERLIN)
    o = LedgerPunch("b", "w1", "OUT", datetime(2026, 3, 29, 5, 30, tzinfo=tz), BERLIN)
    assert only_sheet([i, o]).total == 4 * H


# --- the range -----------------------------------------------------------------------------


def test_only_shifts_starting_in_the_range_are_reported():
    punches = [
        # Started the day before the range, ended inside it: not reported.
        punch("a", "IN", "2026-03-01 22:00"),
        punch("b", "OUT", "2026-03-02 06:00"),
        punch("c", "IN", "2026-03-02 08:00"),
        punch("d", "OUT", "2026-03-02 12:00"),
        # Starts on the last day, ends after it: reported with its OUT.
        punch("e", "IN", "2026-03-03 22:00"),
        punch("f", "OUT", "2026-03-04 06:00"),
        # After the range.
        punch("g", "IN", "2026-03-04 08:00"),
    ]
    sheet = only_sheet(punches, start="2026-03-02", end="2026-03-03")
    reported = [
        (s.day.isoformat(), s.in_punch.punch_id, s.out_punch.punch_id) for s in all_shifts(sheet)
    ]
    assert reported == [("2026-03-02", "c", "d"), ("2026-03-03", "e", "f")]
    assert sheet.total == 12 * H
    assert sheet.flagged_shifts == 0  # g's open shift is outside the range


def test_an_out_in_the_margin_pairs_the_in_before_the_range_not_one_inside():
    # Without the margin's IN, the 06:00 OUT would be a MISSING_IN on the first day.
    with_margin = [punch("a", "IN", "2026-03-01 22:00"), punch("b", "OUT", "2026-03-02 06:00")]
    assert sheets(with_margin, start="2026-03-02", end="2026-03-02") == []
    without = sheets(with_margin[1:], start="2026-03-02", end="2026-03-02")
    assert flags(without[0]) == [("2026-03-02", "MISSING_IN")]


def test_a_single_day_range():
    punches = [punch("a", "IN", "2026-03-02 08:00"), punch("b", "OUT", "2026-03-02 16:00")]
    assert only_sheet(punches, start="2026-03-02", end="2026-03-02").total == 8 * H
    assert sheets(punches, start="2026-03-03", end="2026-03-03") == []


def test_a_reversed_range_a_bad_max_shift_or_a_naive_now_are_refused():
    with pytest.raises(ValueError):
        sheets([], start="2026-03-02", end="2026-03-01")
    with pytest.raises(ValueError):
        sheets([], max_shift=timedelta(0))
    with pytest.raises(ValueError):
        sheets([], now=datetime(2026, 3, 2, 8))


# --- several workers, input hygiene ---------------------------------------------------------


def test_several_workers_are_paired_separately_and_sorted_by_worker_id():
    punches = [
        punch("1", "IN", "2026-03-02 08:00", worker="w2"),
        punch("2", "IN", "2026-03-02 09:00", worker="w1"),
        punch("3", "OUT", "2026-03-02 16:00", worker="w2"),
        punch("4", "OUT", "2026-03-02 17:00", worker="w1"),
        punch("5", "OUT", "2026-03-02 18:00", worker="w3"),
    ]
    result = sheets(list(reversed(punches)))
    assert [s.worker_id for s in result] == ["w1", "w2", "w3"]
    assert [s.total for s in result] == [8 * H, 8 * H, timedelta(0)]
    assert [s.flagged_shifts for s in result] == [0, 0, 1]


def test_days_are_sorted_and_listed_only_with_a_shift():
    sheet = only_sheet(
        [
            punch("c", "IN", "2026-03-05 08:00"),
            punch("d", "OUT", "2026-03-05 10:00"),
            punch("a", "IN", "2026-03-02 08:00"),
            punch("b", "OUT", "2026-03-02 09:00"),
        ]
    )
    assert [(d.day.day, d.total) for d in sheet.days] == [(2, H), (5, 2 * H)]
    assert sheet.total == 3 * H


def test_a_punch_given_twice_counts_once():
    i, o = punch("a", "IN", "2026-03-02 08:00"), punch("b", "OUT", "2026-03-02 16:00")
    assert only_sheet([i, o, i, o]) == only_sheet([i, o])


def test_a_punch_id_with_two_different_punches_is_refused():
    with pytest.raises(ValueError, match="twice"):
        sheets([punch("a", "IN", "2026-03-02 08:00"), punch("a", "OUT", "2026-03-02 16:00")])


@pytest.mark.parametrize(
    "bad",
    [
        dict(direction="in"),
        dict(at=datetime(2026, 3, 2, 8, 0)),
        dict(time_zone="Mars/Olympus_Mons"),
    ],
)
def test_a_malformed_punch_is_refused(bad):
    fields = dict(
        punch_id="a",
        worker_id="w1",
        direction="IN",
        at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        time_zone=BERLIN,
    )
    with pytest.raises(ValueError):
        LedgerPunch(**(fields | bad))


def test_pair_shifts_keeps_every_shift_whatever_its_day():
    shifts = pair_shifts(
        [punch("b", "OUT", "2026-01-01 06:00"), punch("a", "IN", "2026-12-31 08:00")]
    )
    assert [s.flag for s in shifts] == ["MISSING_IN", "MISSING_OUT"]


# --- exports -------------------------------------------------------------------------------


def rows(text):
    return list(csv.reader(io.StringIO(text)))


def test_decimal_hours_round_half_up_to_two_decimals():
    assert str(decimal_hours(9 * H)) == "9.00"
    assert str(decimal_hours(timedelta(hours=7, minutes=20))) == "7.33"
    assert str(decimal_hours(timedelta(hours=8, seconds=18))) == "8.01"  # 8.005
    assert str(decimal_hours(timedelta(hours=8, seconds=17))) == "8.00"


def test_csv_has_a_header_a_row_per_shift_and_a_total_per_worker():
    punches = [
        punch("a", "IN", "2026-03-02 08:00", worker="w1"),
        punch("b", "OUT", "2026-03-02 16:30", worker="w1"),
        punch("c", "IN", "2026-03-03 08:00", worker="w1"),
        punch("d", "OUT", "2026-03-03 10:00", worker="w2"),
    ]
    text = timesheets_csv(sheets(punches), {"w1": ("E-1", "Ana Pérez")})
    header, *body = rows(text)
    assert tuple(header) == CSV_HEADER
    assert body == [
        ["w1", "E-1", "Ana Pérez", "2026-03-02", "2026-03-02T08:00:00+01:00",
         "2026-03-02T16:30:00+01:00", "8.50", "", "a", "b", "PIN", "PIN"],
        ["w1", "E-1", "Ana Pérez", "2026-03-03", "2026-03-03T08:00:00+01:00",
         "", "", "MISSING_OUT", "c", "", "PIN", ""],
        ["w1", "E-1", "Ana Pérez", "TOTAL", "", "", "8.50", "1 flagged", "", "", "", ""],
        ["w2", "", "", "2026-03-03", "", "2026-03-03T10:00:00+01:00", "", "MISSING_IN", "", "d",
         "", "PIN"],
        ["w2", "", "", "TOTAL", "", "", "0.00", "1 flagged", "", "", "", ""],
    ]  # fmt: skip


def test_csv_says_how_each_punch_of_a_shift_was_made():
    punches = [
        punch("a", "IN", "2026-03-02 08:00", method="FINGERPRINT"),
        punch("b", "OUT", "2026-03-02 16:00", method="CARD"),
        punch("c", "IN", "2026-03-03 08:00", method="FACE"),
        punch("d", "OUT", "2026-03-03 16:00", method="MANUAL"),
    ]
    header, *body = rows(timesheets_csv(sheets(punches)))
    methods = [dict(zip(header, row, strict=True)) for row in body]
    assert [(r["in_method"], r["out_method"]) for r in methods] == [
        ("FINGERPRINT", "CARD"),
        ("FACE", "MANUAL"),
        ("", ""),  # the TOTAL row
    ]


def test_csv_local_times_carry_the_offset_of_their_side_of_a_dst_change():
    punches = [punch("a", "IN", "2026-03-29 00:30"), punch("b", "OUT", "2026-03-29 05:30")]
    (row,) = rows(timesheets_csv(sheets(punches)))[1:2]
    assert row[4:7] == ["2026-03-29T00:30:00+01:00", "2026-03-29T05:30:00+02:00", "4.00"]


def test_csv_without_names_or_sheets():
    assert rows(timesheets_csv([])) == [list(CSV_HEADER)]
    punches = [punch("a", "IN", "2026-03-02 08:00"), punch("b", "OUT", "2026-03-02 09:00")]
    assert rows(timesheets_csv(sheets(punches)))[1][:3] == ["w1", "", ""]


@pytest.mark.parametrize("name", ['=HYPERLINK("x")', "+1", "-2+3", "@SUM(A1)", "\tx"])
def test_csv_guards_against_formula_injection(name):
    punches = [punch("a", "IN", "2026-03-02 08:00"), punch("b", "OUT", "2026-03-02 09:00")]
    text = timesheets_csv(sheets(punches), {"w1": (name, name)})
    for row in rows(text)[1:]:
        assert row[1] == row[2] == "'" + name


def test_csv_leaves_ordinary_names_alone():
    punches = [punch("a", "IN", "2026-03-02 08:00"), punch("b", "OUT", "2026-03-02 09:00")]
    text = timesheets_csv(sheets(punches), {"w1": ("E-1", "O'Brien, Seán")})
    assert rows(text)[1][2] == "O'Brien, Seán"


def test_to_json_is_plain_json():
    punches = [
        punch("a", "IN", "2026-03-02 08:00", clock_id="c1", site_id="s1", method="FACE"),
        punch("b", "OUT", "2026-03-02 15:20"),
        punch("c", "IN", "2026-03-03 08:00"),
    ]
    (doc,) = to_json(sheets(punches))
    assert json.loads(json.dumps(doc)) == doc
    assert doc["worker_id"] == "w1"
    assert doc["total_seconds"] == 26400 and doc["total_hours"] == 7.33
    assert doc["flagged_shifts"] == 1
    first, second = doc["days"]
    assert first["date"] == "2026-03-02" and first["flagged"] is False
    (shift,) = first["shifts"]
    assert shift["duration_seconds"] == 26400 and shift["hours"] == 7.33
    assert shift["flag"] is None
    assert shift["in"] == {
        "punch_id": "a",
        "at": "2026-03-02T07:00:00+00:00",
        "local": "2026-03-02T08:00:00+01:00",
        "time_zone": BERLIN,
        "clock_id": "c1",
        "site_id": "s1",
        "method": "FACE",
    }
    assert second["flagged"] is True and second["total_seconds"] == 0
    (open_shift,) = second["shifts"]
    assert open_shift["out"] is None and open_shift["duration_seconds"] is None
    assert open_shift["hours"] is None and open_shift["flag"] == "MISSING_OUT"


def test_the_sites_a_timesheet_reports():
    from punchcard_punch.views import report_sites

    assert report_sites(None, None) is None  # a sysadmin's: every site
    assert report_sites("A", None) == ["A"]
    assert report_sites(None, ["A", "B"]) == ["A", "B"]  # a manager's: their sites
    assert report_sites("A", ["A", "B"]) == ["A"]
    assert report_sites("C", ["A", "B"]) == []  # not theirs: nothing


def test_a_listing_window_must_not_end_before_it_starts():
    from punchcard_kit.errors import Invalid
    from punchcard_punch.views import check_window

    monday = datetime(2026, 3, 2, tzinfo=UTC)
    tuesday = datetime(2026, 3, 3, tzinfo=UTC)
    check_window(monday, tuesday)
    check_window(monday, monday)  # empty, but asked for
    check_window(None, monday)
    check_window(tuesday, None)
    with pytest.raises(Invalid) as refused:
        check_window(tuesday, monday)
    assert refused.value.field == "to"
