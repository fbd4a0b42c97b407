"""Templates as devices upload them (FP, FACE, BIODATA, BIOPHOTO) read into one value with
bounds, and the commands that put them on another device or delete them (pure rules)."""

import base64

import pytest
from punchcard_device_sync.domain.templates import (
    MAX_PER_KIND,
    MAX_TEMPLATE_B64,
    Kind,
    Refused,
    Source,
    Template,
    counts,
    delete_lines,
    may_store,
    read_template,
    tables_of,
    update_line,
)
from punchcard_device_sync.domain.zk_records import OperRecord

TMP = base64.b64encode(b"\x01fingerprint-minutiae\xff" * 8).decode()


def rec(word: str, **fields: str) -> OperRecord:
    return OperRecord(word, dict(fields), 3)


def test_an_fp_record_is_a_fingerprint_in_its_finger_slot():
    t = read_template(rec("FP", PIN="1001", FID="6", Size=str(len(TMP)), Valid="1", TMP=TMP))
    assert t == Template(
        badge="1001",
        kind=Kind.FINGERPRINT,
        source=Source.FP,
        no=6,
        size=len(TMP),
        data=TMP,
    )
    assert t.slot == (Kind.FINGERPRINT, 6, 0)
    assert t.describe().data == "" and t.describe().no == 6


def test_a_legacy_face_record_uses_its_upper_case_fields():
    t = read_template(rec("FACE", PIN="7", FID="11", SIZE="40", VALID="1", TMP=TMP))
    assert (t.kind, t.source, t.no, t.size) == (Kind.FACE, Source.FACE, 11, 40)


@pytest.mark.parametrize(
    ("bio_type", "kind"),
    [("1", Kind.FINGERPRINT), ("2", Kind.FACE), ("9", Kind.FACE), ("8", Kind.PALM)],
)
def test_a_biodata_record_is_read_by_its_type(bio_type, kind):
    fields = {
        "Pin": "1001",
        "No": "3",
        "Index": "1",
        "Valid": "1",
        "Duress": "1",
        "Type": bio_type,
        "MajorVer": "12",
        "MinorVer": "0",
        "Format": "0",
        "Tmp": TMP,
    }
    t = read_template(OperRecord("BIODATA", fields, 1))
    assert (t.badge, t.kind, t.source, t.no, t.index) == ("1001", kind, Source.BIODATA, 3, 1)
    assert (t.duress, t.bio_type, t.major_ver) == (1, int(bio_type), 12)


def test_a_biophoto_is_one_photo_per_type():
    t = read_template(rec("BIOPHOTO", PIN="5", FileName="5.jpg", Type="9", Size="12", Content=TMP))
    assert (t.kind, t.source, t.slot) == (Kind.BIOPHOTO, Source.BIOPHOTO, (Kind.BIOPHOTO, 9, 0))


def test_records_that_are_not_templates_are_none():
    assert read_template(rec("USER", PIN="1", Name="Ana")) is None
    assert read_template(rec("OPLOG", PIN="1")) is None


def test_base64_wrapped_over_lines_is_joined():
    wrapped = TMP[:10] + "\n" + TMP[10:]
    assert read_template(rec("FP", PIN="1", FID="0", TMP=wrapped)).data == TMP


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"FID": "1", "TMP": TMP}, "PIN"),
        ({"PIN": "1", "TMP": TMP}, "FID"),
        ({"PIN": "1", "FID": "100", "TMP": TMP}, "FID"),
        ({"PIN": "1", "FID": "-1", "TMP": TMP}, "FID"),
        ({"PIN": "1", "FID": "x", "TMP": TMP}, "FID"),
        ({"PIN": "1", "FID": "1"}, "TMP"),
        ({"PIN": "1", "FID": "1", "TMP": "not base64!"}, "TMP"),
        ({"PIN": "1", "FID": "1", "TMP": "A" * (MAX_TEMPLATE_B64 + 4)}, "TMP"),
        ({"PIN": "1" * 65, "FID": "1", "TMP": TMP}, "PIN"),
        ({"PIN": "1", "FID": "1", "Valid": "2", "TMP": TMP}, "Valid"),
        ({"PIN": "1", "FID": "1", "Size": "99999999999", "TMP": TMP}, "Size"),
    ],
)
def test_a_template_out_of_bounds_is_refused_naming_the_field(fields, field):
    with pytest.raises(Refused) as refused:
        read_template(OperRecord("FP", fields, 9))
    assert refused.value.field == field
    assert TMP not in refused.value.reason


def test_a_biodata_type_not_kept_is_refused():
    with pytest.raises(Refused, match="Type 4"):
        read_template(OperRecord("BIODATA", {"Pin": "1", "Type": "4", "Tmp": TMP}, 1))


def test_a_worker_holds_at_most_max_per_kind_templates_of_a_kind():
    full = [(Kind.FINGERPRINT, n, 0) for n in range(MAX_PER_KIND)]
    fp = Template("1", Kind.FINGERPRINT, Source.FP, no=99, data=TMP)
    assert not may_store(full, fp)
    assert may_store(full, Template("1", Kind.FINGERPRINT, Source.FP, no=5, data=TMP))  # replace
    assert may_store(full, Template("1", Kind.FACE, Source.FACE, no=0, data=TMP))


def test_each_template_goes_out_in_the_form_it_came_as():
    fp = read_template(rec("FP", PIN="old", FID="6", Size="40", Valid="1", TMP=TMP))
    assert update_line(fp, "1001") == (
        f"DATA UPDATE FINGERTMP PIN=1001\tFID=6\tSize=40\tValid=1\tTMP={TMP}"
    )
    face = Template("1", Kind.FACE, Source.FACE, no=2, data=TMP)
    assert update_line(face, "1001") == (
        f"DATA UPDATE FACE PIN=1001\tFID=2\tSIZE={len(TMP)}\tVALID=1\tTMP={TMP}"
    )
    bio = Template(
        "1", Kind.FACE, Source.BIODATA, no=0, index=0, bio_type=9, major_ver=5, minor_ver=8,
        data=TMP,
    )  # fmt: skip
    assert update_line(bio, "1001") == (
        "DATA UPDATE BIODATA Pin=1001\tNo=0\tIndex=0\tValid=1\tDuress=0\tType=9\tMajorVer=5"
        f"\tMinorVer=8\tFormat=0\tTmp={TMP}"
    )
    photo = Template("1", Kind.BIOPHOTO, Source.BIOPHOTO, no=9, bio_type=9, size=7, data=TMP)
    assert update_line(photo, "1001") == (
        f"DATA UPDATE BIOPHOTO PIN=1001\tType=9\tSize=7\tContent={TMP}"
    )


def test_a_badge_cannot_end_its_field():
    fp = Template("1", Kind.FINGERPRINT, Source.FP, no=1, data=TMP)
    assert update_line(fp, "10\t01\n").startswith("DATA UPDATE FINGERTMP PIN=1001\tFID=1")


def test_deletion_names_the_tables_the_templates_came_as():
    assert tables_of([Source.FP, Source.FP, Source.BIOPHOTO]) == ("BIOPHOTO", "FINGERTMP")
    assert tables_of([]) == ("BIODATA", "FINGERTMP")
    assert delete_lines("1001", ["FINGERTMP", "BIODATA", "NOT-A-TABLE"]) == [
        "DATA DELETE BIODATA Pin=1001",
        "DATA DELETE FINGERTMP PIN=1001",
    ]


def test_counts_per_kind():
    c = counts([Kind.FINGERPRINT, Kind.FINGERPRINT, Kind.FACE, Kind.BIOPHOTO])
    assert (c.fingerprints, c.faces, c.palms, c.photos) == (2, 1, 0, 1)
