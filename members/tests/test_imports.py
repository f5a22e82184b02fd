"""Member imports: upload, dry run with per-row errors, import in batches, merge, resume."""

from __future__ import annotations

import csv
import io
import threading
import time
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from members import pii
from members.choices import ConsentSource, ImportStage, MemberSource, TagSource
from members.models import ConsentRecord, Member, MemberImport, MemberImportError, MemberTag, Tag
from members.services import imports as services
from members.tests.factories import MemberFactory
from retail.choices import Role
from retail.errors import Conflict, InvalidInput
from retail.models import AuditEvent, DomainEvent
from retail.tests.factories import BrandFactory, StaffRoleFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

HEADER = ["phone", "name", "external_id", "store", "guide", "joined_at", "consent_call", "consent_sms", "consent_chat", "tags"]  # fmt: skip
CN_HEADER = [
    "手机号",
    "姓名",
    "外部编号",
    "门店",
    "导购",
    "入会时间",
    "电话同意",
    "短信同意",
    "企微同意",
    "标签",
]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def csv_bytes(rows: list[list], header: list[str] = HEADER, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list], header: list[str] = HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(brand, data: bytes, name: str = "members.csv", store=None, user=None) -> MemberImport:
    """Upload through the service and let the dry run finish (jobs run inline after commit)."""
    fileobj = io.BytesIO(data)
    with TestCase.captureOnCommitCallbacks(execute=True):
        member_import, _unknown = services.upload_member_import(
            brand_id=brand.pk, store=store, fileobj=fileobj, filename=name, size=len(data), uploaded_by=user
        )
    member_import.refresh_from_db()
    return member_import


def run_import(member_import: MemberImport) -> MemberImport:
    """Start (or resume) the import and let it finish."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.start_import(member_import=member_import)
    member_import.refresh_from_db()
    return member_import


def member_by_phone(brand, phone: str) -> Member:
    return Member.objects.get(brand=brand, phone_hash=pii.phone_index(phone))


@pytest.fixture
def guide(store):
    return StaffRoleFactory(
        user=UserFactory(username="guide-wang"), brand=store.brand, store=store, role=Role.GUIDE
    ).user


# --- happy paths -----------------------------------------------------------------------------------


def test_a_csv_is_checked_first_then_imported_with_every_column(
    brand, store, guide, hq_user, django_capture_on_commit_callbacks
):
    # given a CSV of two new members using every column
    data = csv_bytes(
        [
            [
                "138 1234 5678",
                "李雷",
                "CRM-1",
                store.code,
                "guide-wang",
                "2024-03-01",
                "yes",
                "是",
                "",
                "VIP;新客",
            ],
            ["+86 139 0000 0001", "韩梅梅", "", "", "", "2024/03/02 10:30", "no", "0", "Y", "VIP，老客"],
        ]
    )
    # when it is uploaded, the dry run runs and nothing is imported yet
    member_import = upload(brand, data, user=hq_user)
    assert member_import.stage == ImportStage.CHECKED
    assert (member_import.rows_total, member_import.rows_invalid) == (2, 0)
    assert (member_import.created_count, member_import.merged_count) == (2, 0)  # the forecast
    assert not Member.objects.filter(brand=brand).exists()
    # when the import runs
    member_import = run_import(member_import)
    # then both are members, encrypted, from the import, with their recruitment and consents
    assert member_import.stage == ImportStage.DONE
    assert (member_import.created_count, member_import.merged_count, member_import.rows_done) == (2, 0, 2)
    li = member_by_phone(brand, "13812345678")
    assert pii.decrypt(li.phone_encrypted) == "13812345678" and li.phone_masked == "138****5678"
    assert pii.decrypt(li.name_encrypted) == "李雷"
    assert (li.external_id, li.store_id, li.guide_id, li.source) == (
        "CRM-1",
        store.pk,
        guide.pk,
        MemberSource.IMPORT,
    )
    assert timezone.localtime(li.joined_at).date().isoformat() == "2024-03-01"  # Asia/Shanghai
    assert (li.consent_call, li.consent_sms, li.consent_chat) == (True, True, False)
    han = member_by_phone(brand, "13900000001")
    assert (han.external_id, han.store_id, han.consent_call, han.consent_sms, han.consent_chat) == (
        None,
        None,
        False,
        False,
        True,
    )
    assert len({li.member_no, han.member_no}) == 2
    # and the consents granted start each history, marked as imported
    assert sorted(ConsentRecord.objects.filter(member=li).values_list("channel", "source")) == [
        ("call", ConsentSource.IMPORT),
        ("sms", ConsentSource.IMPORT),
    ]
    # and the tags exist once for the brand, on the members, from the import
    assert sorted(Tag.objects.filter(brand=brand).values_list("name", flat=True)) == ["VIP", "新客", "老客"]
    assert sorted(MemberTag.objects.filter(member=han).values_list("tag__name", flat=True)) == ["VIP", "老客"]
    assert set(MemberTag.objects.values_list("source", flat=True)) == {TagSource.IMPORT}
    # and the import is audited once (not per member), with no per-member domain event
    audits = AuditEvent.objects.filter(object_type="members.memberimport", object_id=str(member_import.pk))
    assert audits.filter(message__startswith="member import: 2 new").count() == 1
    assert audits.get(message__startswith="member import:").actor_id == hq_user.pk
    assert not DomainEvent.objects.filter(name="member.joined").exists()


def test_an_xlsx_with_chinese_headers_imports_like_a_csv(brand, store, django_capture_on_commit_callbacks):
    # given an XLSX with Chinese headers, a phone stored as a number and a real date cell
    from datetime import datetime

    data = xlsx_bytes(
        [
            [
                13812345678,
                "李雷",
                "CRM-1",
                store.code,
                None,
                datetime(2024, 3, 1, 9, 0),
                "是",
                "否",
                None,
                "VIP",
            ],
            [None, None, None, None, None, None, None, None, None, None],  # a blank row is skipped
            ["13900000001", "韩梅梅", None, None, None, None, 1, True, "N", None],
        ],
        header=CN_HEADER,
    )
    # when it is uploaded and imported
    member_import = upload(brand, data, name="会员.xlsx")
    assert (member_import.file_format, member_import.stage, member_import.rows_total) == (
        "xlsx",
        "checked",
        2,
    )
    member_import = run_import(member_import)
    # then both are members with their values
    assert member_import.created_count == 2
    li = member_by_phone(brand, "13812345678")
    assert (li.store_id, li.consent_call, li.consent_sms, timezone.localtime(li.joined_at).hour) == (
        store.pk,
        True,
        False,
        9,
    )
    han = member_by_phone(brand, "13900000001")
    assert (han.consent_call, han.consent_sms, han.consent_chat) == (True, True, False)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_a_csv_in_utf8_with_or_without_bom_or_gb18030_is_read(
    brand, encoding, django_capture_on_commit_callbacks
):
    # given Chinese headers and a Chinese name in the given encoding
    data = csv_bytes([["13812345678", "李雷"]], header=["手机号", "姓名"], encoding=encoding)
    # when it is uploaded and imported
    member_import = upload(brand, data)
    run_import(member_import)
    # then the name is read right
    assert pii.decrypt(member_by_phone(brand, "13812345678").name_encrypted) == "李雷"


def test_headers_match_whatever_their_case_and_spacing_and_unknown_columns_are_ignored(
    brand, django_capture_on_commit_callbacks
):
    # given headers in odd case and spacing, and a column nobody knows
    data = csv_bytes([["13812345678", "x", "CRM-9"]], header=[" Phone ", "Favourite colour", "External ID"])
    with django_capture_on_commit_callbacks(execute=True):
        member_import, unknown = services.upload_member_import(
            brand_id=brand.pk, store=None, fileobj=io.BytesIO(data), filename="m.csv", size=len(data)
        )
    # then the unknown column is reported (to warn about) and the known ones are used
    assert unknown == ["Favourite colour"]
    member_import.refresh_from_db()
    run_import(member_import)
    assert member_by_phone(brand, "13812345678").external_id == "CRM-9"


# --- errors ----------------------------------------------------------------------------------------


def test_invalid_rows_are_reported_by_row_and_column_without_clear_phones_and_skipped(
    brand, store, django_capture_on_commit_callbacks
):
    # given a file with one good row and rows wrong in various ways
    MemberFactory(brand=brand, phone="13700000000", external_id="TAKEN")
    data = csv_bytes(
        [
            ["13812345678", "好", "", "", "", "", "", "", "", ""],  # row 2: fine
            ["12ab3", "", "", "", "", "", "", "", "", ""],  # row 3: bad phone
            ["", "无号", "", "", "", "", "", "", "", ""],  # row 4: no phone
            ["13900000002", "", "", "NOPE", "nobody", "31/02/2024", "maybe", "", "", ""],  # row 5
            ["13900000003", "x" * 41, "TAKEN", "", "", "2999-01-01", "", "", "", ""],  # row 6
        ]
    )
    # when it is checked
    member_import = upload(brand, data)
    # then each bad row is stored with its row number and what is wrong per column
    assert (member_import.rows_total, member_import.rows_invalid, member_import.created_count) == (5, 4, 1)
    errors = {e.row_number: e.errors for e in MemberImportError.objects.filter(member_import=member_import)}
    assert sorted(errors) == [3, 4, 5, 6]
    assert errors[3] == {"phone": [{"code": "invalid_phone", "value": "***"}]}
    assert errors[4] == {"phone": [{"code": "required"}]}
    assert {k: [e["code"] for e in v] for k, v in errors[5].items()} == {
        "store": ["unknown_store"],
        "guide": ["unknown_guide"],
        "joined_at": ["invalid_date"],
        "consent_call": ["invalid_boolean"],
    }
    assert {k: [e["code"] for e in v] for k, v in errors[6].items()} == {
        "name": ["too_long"],
        "external_id": ["external_id_taken"],
        "joined_at": ["future_date"],
    }
    # and no clear phone number is stored with the errors
    stored = str(list(MemberImportError.objects.values_list("errors", flat=True)))
    for phone in ("13900000002", "13900000003", "12ab3"):
        assert phone not in stored
    # when the import runs, only the good row is imported
    member_import = run_import(member_import)
    assert (member_import.created_count, member_import.merged_count, member_import.rows_invalid) == (1, 0, 4)
    assert Member.objects.filter(brand=brand).count() == 2


def test_a_phone_error_shows_the_number_masked(brand):
    # given numbers too long and too short to be phones
    upload(brand, csv_bytes([["1234567890123456"], ["12"]], header=["phone"]))
    # then the errors show them masked, never in clear
    values = [e.errors["phone"][0] for e in MemberImportError.objects.order_by("row_number")]
    assert values == [
        {"code": "invalid_phone", "value": "************3456"},
        {"code": "invalid_phone", "value": "**"},
    ]
    assert "1234567890123456" not in str(list(MemberImportError.objects.values_list("errors", flat=True)))


@pytest.mark.parametrize(
    "name,data,code",
    [
        ("members.pdf", b"%PDF-1.4", "bad_format"),
        ("members.csv", b"", "empty_file"),
        ("members.csv", b"\n\n", "empty_file"),
        ("members.csv", "姓名,门店\n李雷,S1\n".encode(), "no_phone_column"),
        ("members.csv", b"phone\n", "no_rows"),
        ("members.csv", b"phone,name\n138\xff\xff\xfe1234,x\n", "undecodable"),
        ("members.xlsx", b"phone,name\n13812345678,x\n", "bad_xlsx"),
        ("members.csv", b"PK\x03\x04 zipped", "not_csv"),
        ("members.csv", b"phone,Phone\n1,2\n", "duplicate_column"),
    ],
)
def test_a_bad_file_is_refused_with_a_clear_message_and_nothing_is_stored(brand, name, data, code, settings):
    # when a bad file is uploaded
    with pytest.raises(InvalidInput) as refused:
        services.upload_member_import(
            brand_id=brand.pk, store=None, fileobj=io.BytesIO(data), filename=name, size=len(data)
        )
    # then it is refused with its reason, and no import (nor file) is stored
    assert refused.value.code == code
    assert refused.value.message
    assert not MemberImport.objects.exists()
    from pathlib import Path

    assert not any(p.is_file() for p in Path(settings.MEDIA_ROOT).rglob("*"))


def test_a_file_over_the_size_limit_is_refused(brand, settings):
    settings.MEMBER_IMPORT_MAX_BYTES = 10
    data = csv_bytes([["13812345678"]], header=["phone"])
    with pytest.raises(InvalidInput) as refused:
        services.upload_member_import(
            brand_id=brand.pk, store=None, fileobj=io.BytesIO(data), filename="m.csv", size=len(data)
        )
    assert refused.value.code == "too_large"


# --- merging and repeats ---------------------------------------------------------------------------


def test_a_phone_known_to_the_brand_or_repeated_in_the_file_merges_into_one_member(
    brand, store, django_capture_on_commit_callbacks
):
    # given a member with a name but no external id, who consents to SMS only, tagged VIP
    known = MemberFactory(brand=brand, phone="13812345678", name="李雷", consent_sms=True, consent_call=False)
    vip = Tag.objects.create(brand=brand, name="VIP")
    MemberTag.objects.create(brand=brand, member=known, tag=vip)
    # and a file naming them twice (other formats of the number) and a new person twice
    data = csv_bytes(
        [
            [
                "+86 13812345678",
                "",
                "CRM-1",
                store.code,
                "",
                "",
                "yes",
                "",
                "",
                "VIP;回流",
            ],  # fills, grants call
            ["138-1234-5678", "别名", "CRM-2", "", "", "", "", "no", "", ""],  # withdraws sms; keeps name
            ["13900000001", "韩梅梅", "", "", "", "", "", "", "", "新客"],
            ["13900000001", "", "CRM-3", "", "", "", "1", "", "", "新客"],
        ]
    )
    # when it is checked: the repeat is a note (merged), not an error, and the forecast counts it
    member_import = upload(brand, data)
    assert (member_import.rows_invalid, member_import.created_count, member_import.merged_count) == (0, 1, 3)
    notes = MemberImportError.objects.filter(member_import=member_import, errors__has_key="_note")
    assert list(notes.values_list("row_number", flat=True)) == [3, 5]
    # when it is imported
    member_import = run_import(member_import)
    # then no member is doubled: one new, the known one merged
    assert (member_import.created_count, member_import.merged_count) == (1, 3)
    assert Member.objects.filter(brand=brand).count() == 2
    known.refresh_from_db()
    # and blanks were filled, nothing non-empty overwritten
    assert pii.decrypt(known.name_encrypted) == "李雷"
    assert (known.external_id, known.store_id) == ("CRM-1", store.pk)
    # and consent changes are in the history, from the import
    assert (known.consent_call, known.consent_sms) == (True, False)
    history = list(
        ConsentRecord.objects.filter(member=known).order_by("id").values_list("channel", "granted", "source")
    )
    assert history == [("call", True, "import"), ("sms", False, "import")]
    # and tags were added, the existing one not doubled
    assert sorted(MemberTag.objects.filter(member=known).values_list("tag__name", flat=True)) == [
        "VIP",
        "回流",
    ]
    han = member_by_phone(brand, "13900000001")
    assert (pii.decrypt(han.name_encrypted), han.external_id, han.consent_call) == ("韩梅梅", "CRM-3", True)
    assert list(ConsentRecord.objects.filter(member=han).values_list("channel", flat=True)) == ["call"]


def test_the_same_file_twice_is_refused_naming_the_earlier_import(brand, django_capture_on_commit_callbacks):
    # given a file already imported
    data = csv_bytes([["13812345678", "李雷"]], header=["phone", "name"])
    first = upload(brand, data)
    run_import(first)
    # when it is uploaded again, it is refused, naming the earlier import
    with pytest.raises(Conflict) as refused:
        upload(brand, data, name="again.csv")
    assert refused.value.code == "duplicate_file"
    assert refused.value.fields == {"import_id": first.pk}
    assert f"#{first.pk}" in refused.value.message
    assert MemberImport.objects.count() == 1
    # but another brand may import the same file
    assert upload(BrandFactory(), data).stage == ImportStage.CHECKED


def test_the_same_people_in_another_file_merge_and_write_nothing_new(
    brand, store, django_capture_on_commit_callbacks
):
    # given a file imported
    rows = [
        ["13812345678", "李雷", "CRM-1", store.code, "", "2024-01-01", "yes", "yes", "", "VIP"],
        ["13900000001", "韩梅梅", "", "", "", "", "", "", "", ""],
    ]
    run_import(upload(brand, csv_bytes(rows)))
    counts = (
        Member.objects.count(),
        ConsentRecord.objects.count(),
        MemberTag.objects.count(),
        Tag.objects.count(),
    )
    snapshot = list(Member.objects.order_by("id").values())
    # when the same people come again in another file (other order, another column set)
    again = run_import(upload(brand, csv_bytes(list(reversed(rows))), name="again.csv"))
    # then every row merged, and nothing new was written
    assert (again.created_count, again.merged_count) == (0, 2)
    assert (
        Member.objects.count(),
        ConsentRecord.objects.count(),
        MemberTag.objects.count(),
        Tag.objects.count(),
    ) == counts
    assert list(Member.objects.order_by("id").values()) == snapshot


# --- batches, resume, memory -------------------------------------------------------------------------


def people(n: int, start: int = 0) -> list[list]:
    return [
        [f"139{i:08d}", f"会员{i}", f"EXT-{i}", "", "", "", "", "yes", "", "批量"]
        for i in range(start, start + n)
    ]


def test_rows_are_written_in_batches_of_the_configured_size(
    brand, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # given a batch size of 40 and 100 rows
    settings.MEMBER_IMPORT_BATCH_SIZE = 40
    batches = []
    original = services._write_batch
    monkeypatch.setattr(
        services, "_write_batch", lambda mi, rows, pos: (batches.append(len(rows)), original(mi, rows, pos))
    )
    # when they are imported
    member_import = run_import(upload(brand, csv_bytes(people(100))))
    # then three batches wrote them, and member numbers are unique and follow on
    assert batches == [40, 40, 20]
    assert member_import.created_count == 100
    numbers = list(Member.objects.filter(brand=brand).order_by("id").values_list("member_no", flat=True))
    assert numbers == sorted(numbers) and len(set(numbers)) == 100


def test_a_crash_mid_import_resumes_after_the_last_batch_and_imports_each_row_once(
    brand, settings, monkeypatch, django_capture_on_commit_callbacks
):
    # given an import of 100 rows in batches of 30 whose second batch fails once
    settings.MEMBER_IMPORT_BATCH_SIZE = 30
    member_import = upload(brand, csv_bytes(people(100)))
    original = services._write_batch
    calls = []

    def crash_once(mi, rows, position):
        calls.append(position)
        if len(calls) == 2:
            raise RuntimeError("worker lost")
        return original(mi, rows, position)

    monkeypatch.setattr(services, "_write_batch", crash_once)
    # when it runs, it stops after the first batch and says so
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
        services.start_import(member_import=member_import)
    member_import.refresh_from_db()
    assert (member_import.stage, member_import.rows_done, member_import.created_count) == ("failed", 30, 30)
    assert "Resume" in member_import.error
    assert Member.objects.filter(brand=brand).count() == 30
    # when it is resumed
    member_import = run_import(member_import)
    # then the rest is imported, each row exactly once
    assert member_import.stage == ImportStage.DONE
    assert (member_import.rows_done, member_import.created_count, member_import.merged_count) == (100, 100, 0)
    assert Member.objects.filter(brand=brand).count() == 100
    assert ConsentRecord.objects.filter(brand=brand).count() == 100
    assert MemberTag.objects.filter(brand=brand).count() == 100
    assert calls[2] == 30  # the resumed run started after the committed batch


def test_a_second_runner_of_the_same_import_stops_without_writing(brand, django_capture_on_commit_callbacks):
    # given an import whose rows_done moved on (another worker committed a batch meanwhile)
    member_import = upload(brand, csv_bytes(people(10)))
    MemberImport.objects.filter(pk=member_import.pk).update(stage=ImportStage.IMPORTING)
    rows = [
        services.parse_row(n, {"phone": p[0]}, now=member_import.created_at)
        for n, p in enumerate(people(10), 2)
    ]
    MemberImport.objects.filter(pk=member_import.pk).update(rows_done=5)
    # when a stale runner tries to write its batch from position 0, it is interrupted
    with pytest.raises(services._Interrupted):
        services._import_batch(member_import, rows, 0)
    assert not Member.objects.filter(brand=brand).exists()


def test_the_dry_run_of_20000_rows_keeps_memory_flat(brand, settings, django_capture_on_commit_callbacks):
    # given a 20,000-row file (about 1.2 MB) checked in batches of 1,000
    settings.MEMBER_IMPORT_BATCH_SIZE = 1000
    data = csv_bytes(people(20_000))
    with django_capture_on_commit_callbacks(execute=True):
        member_import, _ = services.upload_member_import(
            brand_id=brand.pk, store=None, fileobj=io.BytesIO(data), filename="big.csv", size=len(data)
        )
    del data
    # when the dry run reads it again, under tracemalloc
    MemberImport.objects.filter(pk=member_import.pk).update(stage=ImportStage.CHECKING)
    tracemalloc.start()
    services.check_member_import(import_id=member_import.pk)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # then every row was checked, and the peak stays far below the file's parsed size
    member_import.refresh_from_db()
    assert (member_import.rows_checked, member_import.created_count) == (20_000, 20_000)
    assert peak < 12 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


# --- pages -----------------------------------------------------------------------------------------


def test_the_page_flow_upload_preview_import_done(client, brand, hq_user, django_capture_on_commit_callbacks):
    client.force_login(hq_user)
    # given the upload page offers the template
    page = client.get(reverse("members:import_list"))
    assert page.status_code == 200
    template = client.get(reverse("members:import_template"))
    assert template.status_code == 200
    assert template.content.decode("utf-8-sig").splitlines()[0].startswith("phone,name,external_id")
    # when HQ uploads a file with one bad row and an unknown column
    data = csv_bytes([["13812345678", "x"], ["bad", "y"]], header=["phone", "colour"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("members:import_list"), {"file": SimpleUploadedFile("m.csv", data, "text/csv")}
        )
    member_import = MemberImport.objects.get()
    detail = reverse("members:import_detail", kwargs={"import_id": member_import.pk})
    assert response.status_code == 302 and response["Location"] == detail
    # then the preview shows the forecast, the row error and the warning, and an import button
    preview = client.get(detail)
    text = preview.content.decode()
    assert preview.status_code == 200
    assert "Dry run" in text and "colour" in text and "Not a valid phone number" in text
    assert reverse("members:import_run", kwargs={"import_id": member_import.pk}) in text
    # when HQ imports
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("members:import_run", kwargs={"import_id": member_import.pk}))
    assert response.status_code == 302
    # then the page shows the counts, and the status poll asks htmx to reload (job over)
    done = client.get(detail).content.decode()
    assert "New members" in done
    member_import.refresh_from_db()
    assert (member_import.stage, member_import.created_count, member_import.rows_invalid) == ("done", 1, 1)
    status = client.get(
        reverse("members:import_status", kwargs={"import_id": member_import.pk}), HTTP_HX_REQUEST="true"
    )
    assert status.status_code == 200 and status.headers.get("HX-Refresh") == "true"


def test_a_running_import_shows_a_polling_progress_bar(client, brand, hq_user):
    client.force_login(hq_user)
    member_import = MemberImport.objects.create(
        brand=brand, file="x.csv", original_name="x.csv", file_format="csv", sha256="0" * 64,
        stage=ImportStage.IMPORTING, rows_total=200, rows_done=50, started_at="2024-01-01T00:00Z",
    )  # fmt: skip
    status_url = reverse("members:import_status", kwargs={"import_id": member_import.pk})
    page = client.get(
        reverse("members:import_detail", kwargs={"import_id": member_import.pk})
    ).content.decode()
    assert f'hx-get="{status_url}"' in page and 'value="25"' in page and "Resume" in page
    poll = client.get(status_url, HTTP_HX_REQUEST="true")
    assert poll.status_code == 200 and 'value="25"' in poll.content.decode()


def test_the_upload_form_shows_a_bad_file_and_a_repeated_file_with_a_link(
    client, brand, hq_user, django_capture_on_commit_callbacks
):
    client.force_login(hq_user)
    bad = client.post(reverse("members:import_list"), {"file": SimpleUploadedFile("m.csv", b"name\nx\n")})
    assert bad.status_code == 400 and "no phone column" in bad.content.decode()
    assert not MemberImport.objects.exists()
    data = csv_bytes([["13812345678"]], header=["phone"])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("members:import_list"), {"file": SimpleUploadedFile("m.csv", data)})
    first = MemberImport.objects.get()
    again = client.post(reverse("members:import_list"), {"file": SimpleUploadedFile("m2.csv", data)})
    assert again.status_code == 400
    assert reverse("members:import_detail", kwargs={"import_id": first.pk}) in again.content.decode()
    assert MemberImport.objects.count() == 1


def test_another_brands_import_is_a_404(client, other_brand, hq_user, django_capture_on_commit_callbacks):
    theirs = upload(other_brand, csv_bytes([["13812345678"]], header=["phone"]))
    client.force_login(hq_user)
    for name in ("import_detail", "import_status"):
        assert client.get(reverse(f"members:{name}", kwargs={"import_id": theirs.pk})).status_code == 404
    for name in ("import_check", "import_run"):
        assert client.post(reverse(f"members:{name}", kwargs={"import_id": theirs.pk})).status_code == 404
    theirs.refresh_from_db()
    assert theirs.stage == ImportStage.CHECKED
    assert not Member.objects.exists()


def test_a_store_manager_imports_into_their_own_stores_only(
    client, brand, store, manager_user, django_capture_on_commit_callbacks
):
    other_store = StoreFactory(brand=brand)
    client.force_login(manager_user)
    data = csv_bytes([["13812345678", ""], ["13900000001", other_store.code]], header=["phone", "store"])
    # when they pick another store as the default, the form refuses it
    refused = client.post(
        reverse("members:import_list"), {"file": SimpleUploadedFile("m.csv", data), "store": other_store.pk}
    )
    assert refused.status_code == 400 and not MemberImport.objects.exists()
    # when they import into their store, a row naming another store is an error
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("members:import_list"), {"file": SimpleUploadedFile("m.csv", data), "store": store.pk}
        )
    member_import = MemberImport.objects.get()
    assert (member_import.store_id, member_import.rows_invalid) == (store.pk, 1)
    error = MemberImportError.objects.get(member_import=member_import)
    assert error.errors["store"][0]["code"] == "not_your_store"
    # and an HQ import (no store) is not theirs to see
    hq_import = MemberImport.objects.create(
        brand=brand, file="x.csv", original_name="x.csv", file_format="csv", sha256="1" * 64
    )
    assert client.get(reverse("members:import_detail", kwargs={"import_id": hq_import.pk})).status_code == 404


def test_a_guide_does_not_import(client, guide_user):
    client.force_login(guide_user)
    assert client.get(reverse("members:import_list")).status_code == 403


# --- PostgreSQL: concurrent runners and joins ---------------------------------------------------------

pg_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks between concurrent transactions: PostgreSQL"
)


def in_threads(*jobs) -> list:
    """Run each callable in its own thread (own connection); their exceptions, if any."""
    failures: list = []

    def wrap(job):
        try:
            job()
        except Exception as exc:  # collected and asserted by the test
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrap, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


@pg_only
@pytest.mark.django_db(transaction=True)
def test_two_runners_of_one_import_write_each_row_once(settings):
    # given a checked import of 400 rows in batches of 50, started twice (a redelivered task)
    settings.MEMBER_IMPORT_BATCH_SIZE = 50
    brand = BrandFactory()
    member_import = upload(brand, csv_bytes(people(400)))
    MemberImport.objects.filter(pk=member_import.pk).update(
        stage=ImportStage.IMPORTING, started_at=timezone.now(), created_count=0, merged_count=0
    )
    # when two workers run it at the same time
    run = lambda: services.run_member_import(import_id=member_import.pk)  # noqa: E731
    assert in_threads(run, run) == []
    # then every row was imported exactly once
    member_import.refresh_from_db()
    assert member_import.stage == ImportStage.DONE
    assert (member_import.rows_done, member_import.created_count, member_import.merged_count) == (400, 400, 0)
    assert Member.objects.filter(brand=brand).count() == 400
    assert ConsentRecord.objects.filter(brand=brand).count() == 400


@pg_only
@pytest.mark.django_db(transaction=True)
def test_members_joining_during_an_import_are_merged_not_doubled(settings):
    # given an import of 1,000 rows in batches of 100
    settings.MEMBER_IMPORT_BATCH_SIZE = 100
    brand = BrandFactory()
    member_import = upload(brand, csv_bytes(people(1000)))
    MemberImport.objects.filter(pk=member_import.pk).update(
        stage=ImportStage.IMPORTING, started_at=timezone.now(), created_count=0, merged_count=0
    )
    joined: list[str] = []

    def join_meanwhile():
        from members.services import join_member

        for i in range(0, 1000, 9):  # some of the file's people, and as many new ones
            time.sleep(0.002)  # people join one after another, not in a tight loop
            for phone in (f"139{i:08d}", f"137{i:08d}"):
                try:
                    join_member(brand_id=brand.pk, phone=phone)
                    joined.append(phone)
                except Conflict:  # the import got there first
                    pass

    # when members join in store while the import runs
    failures = in_threads(lambda: services.run_member_import(import_id=member_import.pk), join_meanwhile)
    # then nothing failed, and each phone is one member with its own member number
    assert failures == []
    member_import.refresh_from_db()
    assert member_import.stage == ImportStage.DONE
    assert member_import.created_count + member_import.merged_count == 1000
    members = Member.objects.filter(brand=brand)
    assert members.count() == 1000 + sum(1 for p in joined if p.startswith("137"))
    assert members.values("member_no").distinct().count() == members.count()


def test_row_errors_are_shown_a_page_at_a_time(client, brand, hq_user):
    # given a checked import with 60 bad rows
    member_import = upload(brand, csv_bytes([["bad"]] * 60 + [["13812345678"]], header=["phone"]))
    client.force_login(hq_user)
    url = reverse("members:import_detail", kwargs={"import_id": member_import.pk})
    # when HQ opens the preview, the first 50 errors show, in file order, with a next page
    first = client.get(url)
    assert [n for n, _columns in first.context["rows"]] == list(range(2, 52))
    assert "Page 1 of 2" in first.content.decode()
    # when htmx asks for page 2, only the errors partial comes back, with the last 10
    second = client.get(url + "?page=2", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="import-errors")
    assert [n for n, _columns in second.context["rows"]] == list(range(52, 62))
    assert "<h1" not in second.content.decode()


def test_a_stalled_dry_run_can_be_started_again(client, brand, hq_user):
    # given an import whose dry run stopped half-way (its worker died)
    member_import = upload(brand, csv_bytes([["13812345678"], ["bad"]], header=["phone"]))
    MemberImport.objects.filter(pk=member_import.pk).update(stage=ImportStage.CHECKING, rows_checked=1)
    client.force_login(hq_user)
    page = client.get(reverse("members:import_detail", kwargs={"import_id": member_import.pk}))
    assert "Check again" in page.content.decode()
    # when HQ starts it again, it runs to the end and the errors are not doubled
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(reverse("members:import_check", kwargs={"import_id": member_import.pk}))
    member_import.refresh_from_db()
    assert (member_import.stage, member_import.rows_checked, member_import.rows_invalid) == ("checked", 2, 1)
    assert MemberImportError.objects.filter(member_import=member_import).count() == 1


def test_an_import_that_began_cannot_be_checked_again(brand):
    member_import = run_import(upload(brand, csv_bytes([["13812345678"]], header=["phone"])))
    with pytest.raises(Conflict):
        services.start_check(member_import=member_import)
    assert MemberImport.objects.get(pk=member_import.pk).stage == ImportStage.DONE


def test_the_dry_run_reports_its_progress_against_the_expected_total(brand, settings, monkeypatch):
    # given 30 rows checked 10 at a time, watched after each batch
    settings.MEMBER_IMPORT_BATCH_SIZE = 10
    seen = []
    original = services._batches

    def watch(rows, size):
        for batch in original(rows, size):
            yield batch
            seen.append(MemberImport.objects.values_list("rows_checked", "rows_total").get())

    monkeypatch.setattr(services, "_batches", watch)
    # when the file is uploaded and checked
    upload(brand, csv_bytes(people(30)))
    # then the total was known from the start and the checked rows moved towards it
    assert seen == [(10, 30), (20, 30), (30, 30)]
