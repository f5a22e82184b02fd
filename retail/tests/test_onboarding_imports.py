"""Bulk onboarding: a CSV of stores with their managers and guides (retail.onboarding.imports)."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from retail.choices import Role, StoreStatus
from retail.errors import InvalidInput
from retail.models import AuditEvent, OnboardingImport, StaffRole, Store, StoreOnboarding
from retail.onboarding import imports
from retail.tests.factories import StaffRoleFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
HEADER = "code,name,city,address,latitude,longitude,manager_username,manager_email,guide_usernames\n"


def upload(brand, text: str, *, user=None, filename="stores.csv") -> OnboardingImport:
    with TestCase.captureOnCommitCallbacks(execute=True):  # the job runs after commit
        onboarding_import, _unknown = imports.upload_onboarding_import(
            brand_id=brand.pk, filename=filename, data=text.encode("utf-8"), created_by=user
        )
    onboarding_import.refresh_from_db()
    return onboarding_import


def errors_of(onboarding_import) -> dict[int, dict]:
    return {e["row"]: e["errors"] for e in onboarding_import.errors}


# --- the import -------------------------------------------------------------------------------


def test_valid_rows_create_stores_with_managers_guides_and_onboarding(brand, hq_user):
    # given a file of two stores, one with a manager and two guides
    text = HEADER + (
        "SH-001,上海南京西路店,上海,南京西路 1266 号,31.2304,121.4737,li.na,li.na@example.com,wang.fang;zhao.lei\n"
        "BJ-002,北京三里屯店,北京,,,,,,\n"
    )
    # when HQ imports it
    done = upload(brand, text, user=hq_user)
    # then both stores exist, onboarding, with their staff
    assert (done.status, done.progress, done.rows, done.created, done.unchanged, done.failed) == (
        "done", 100, 2, 2, 0, 0,
    )  # fmt: skip
    sh = Store.objects.get(brand=brand, code="SH-001")
    assert (sh.name, sh.city, sh.status, str(sh.latitude), str(sh.longitude)) == (
        "上海南京西路店", "上海", StoreStatus.ONBOARDING, "31.230400", "121.473700",
    )  # fmt: skip
    roles = set(StaffRole.objects.filter(store=sh).values_list("user__username", "role"))
    assert roles == {("li.na", Role.STORE_MANAGER), ("wang.fang", Role.GUIDE), ("zhao.lei", Role.GUIDE)}
    manager = User.objects.get(username="li.na")
    assert manager.email == "li.na@example.com"
    assert not manager.has_usable_password()
    assert Store.objects.get(brand=brand, code="BJ-002").status == StoreStatus.ONBOARDING
    onboardings = StoreOnboarding.objects.filter(brand=brand)
    assert onboardings.count() == 2
    assert {o.started_by_id for o in onboardings} == {hq_user.pk}
    assert {o.current_step for o in onboardings} == {imports._first_step()} != {""}
    # and no email went out; one audit event for the whole import
    assert mail.outbox == []
    assert (
        AuditEvent.objects.filter(object_type="retail.onboardingimport", object_id=str(done.pk)).count() == 1
    )


def test_a_bad_row_creates_nothing_while_the_good_rows_go_in(brand):
    # given a file whose second row has a bad latitude and names new users
    text = HEADER + (
        "A1,Good one,,,,,mgr.a,,guide.a\nA2,Bad one,,,95,121,mgr.bad,,guide.bad\nA3,Good two,,,,,,,\n"
    )
    done = upload(brand, text)
    # then the good rows went in and nothing of the bad row exists
    assert (done.created, done.failed) == (2, 1)
    assert set(Store.objects.filter(brand=brand).values_list("code", flat=True)) == {"A1", "A3"}
    assert not User.objects.filter(username__in=["mgr.bad", "guide.bad"]).exists()
    assert errors_of(done) == {3: {"latitude": [imports.M_LATITUDE_RANGE]}}


def test_each_problem_is_reported_per_row_and_field(brand):
    text = HEADER + (
        ",No code,,,,,,,\n"  # row 2
        "B1,,,,,,,,\n"  # row 3
        "B2,First,,,,,,,\n"  # row 4
        "B2,Again,,,,,,,\n"  # row 5
        "B3,Coords,,,abc,121,,,\n"  # row 6
        "B4,Half,,,31,,,,\n"  # row 7
        "B5,Email,,,,,,not-an-email,\n"  # row 8
        "B6,Names,,,,,bad name!,,ok;also bad\n"  # row 9
        "\n"
        "B7,Long," + "x" * 61 + ",,,,,,\n"  # row 11 (row 10 is blank)
    )
    done = upload(brand, text)
    found = errors_of(done)
    assert found[2] == {"code": [imports.M_REQUIRED]}
    assert found[3] == {"name": [imports.M_REQUIRED]}
    assert 4 not in found and found[5] == {"code": [imports.M_DUPLICATE_CODE]}
    assert found[6] == {"latitude": [imports.M_BAD_NUMBER]}
    assert found[7] == {"longitude": [imports.M_COORDINATES_PAIR]}
    assert found[8] == {"manager_email": [imports.M_EMAIL_WITHOUT_MANAGER, imports.M_BAD_EMAIL]}
    assert found[9] == {
        "manager_username": [imports.M_BAD_USERNAME],
        "guide_usernames": [imports.M_BAD_USERNAME],
    }
    assert found[11] == {"city": [imports.M_TOO_LONG]}
    assert (done.rows, done.created, done.failed) == (9, 1, 8)  # the blank line is no row
    assert list(Store.objects.filter(brand=brand).values_list("code", flat=True)) == ["B2"]


def test_importing_the_same_file_again_is_harmless(brand):
    text = HEADER + "C1,One,,,,,mgr.c,,g1;g2\nC2,Two,,,,,mgr.c,,g1\n"
    first = upload(brand, text)
    counts = (
        Store.objects.count(),
        User.objects.count(),
        StaffRole.objects.count(),
        StoreOnboarding.objects.count(),
    )
    # when the same file comes again
    again = upload(brand, text)
    # then nothing new is written and every row counts as already there
    assert (first.created, again.created, again.unchanged, again.failed) == (2, 0, 2, 0)
    assert counts == (
        Store.objects.count(), User.objects.count(), StaffRole.objects.count(), StoreOnboarding.objects.count()
    )  # fmt: skip
    # and the manager of two stores is one user with two roles
    assert StaffRole.objects.filter(user__username="mgr.c", role=Role.STORE_MANAGER).count() == 2


def test_an_existing_user_of_the_brand_is_reused_and_keeps_their_email(brand, store):
    guide = StaffRoleFactory(user=UserFactory(username="known", email="old@example.com"), brand=brand, store=store, role=Role.GUIDE).user  # fmt: skip
    done = upload(brand, HEADER + "D1,New,,,,,known,new@example.com,\n")
    assert done.created == 1
    guide.refresh_from_db()
    assert guide.email == "old@example.com" and guide.has_usable_password()
    assert StaffRole.objects.filter(user=guide, store__code="D1", role=Role.STORE_MANAGER).exists()


def test_a_username_of_another_brands_staff_is_refused(brand, other_brand):
    StaffRoleFactory(user=UserFactory(username="theirs"), brand=other_brand, role=Role.HQ_ADMIN)
    done = upload(brand, HEADER + "E1,Mine,,,,,theirs,,\nE2,Also mine,,,,,,,theirs\nE3,Fine,,,,,,,\n")
    assert errors_of(done) == {
        2: {"manager_username": [imports.M_OTHER_BRAND]},
        3: {"guide_usernames": [imports.M_OTHER_BRAND]},
    }
    assert list(Store.objects.filter(brand=brand).values_list("code", flat=True)) == ["E3"]
    assert not StaffRole.objects.filter(brand=brand, user__username="theirs").exists()


def test_a_store_taken_meanwhile_leaves_the_chunk_all_or_nothing_per_row(brand, monkeypatch):
    # given another writer creates store F1 between the check and the insert
    real = imports._staff_elsewhere

    def racing(usernames, brand_id):
        if not Store.objects.filter(brand=brand, code="F1").exists():
            StoreFactory(brand=brand, code="F1")
        return real(usernames, brand_id)

    monkeypatch.setattr(imports, "_staff_elsewhere", racing)
    done = upload(brand, HEADER + "F1,Raced,,,,,mgr.f1,,\nF2,Fine,,,,,mgr.f2,,\n")
    # then the chunk is redone row by row: F1 is there already, F2 goes in whole
    assert (done.created, done.unchanged, done.failed) == (1, 1, 0)
    assert not User.objects.filter(username="mgr.f1").exists()
    assert StaffRole.objects.filter(store__code="F2", user__username="mgr.f2").exists()


def test_a_thousand_rows_are_imported(brand):
    rows = [
        f"T{i:04d},Store {i},City {i % 30},Road {i},{30 + i % 10}.5,{120 + i % 10}.25,m{i},m{i}@example.com,g{i}a;g{i}b"
        for i in range(1000)
    ]
    done = upload(brand, HEADER + "\n".join(rows) + "\n")
    assert (done.status, done.rows, done.created, done.failed) == ("done", 1000, 1000, 0)
    assert Store.objects.filter(brand=brand).count() == 1000
    assert StaffRole.objects.filter(brand=brand).count() == 3000
    assert StoreOnboarding.objects.filter(brand=brand).count() == 1000


# --- the upload -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "data", "code"),
    [
        ("stores.xlsx", b"PK\x03\x04rest", "not_csv"),
        ("stores.csv", b"PK\x03\x04rest", "not_csv"),
        ("stores.csv", "code,name\nG1,广州店\n".encode("gbk"), "bad_encoding"),
        ("stores.csv", b"name,city\nx,y\n", "missing_columns"),
        ("stores.csv", HEADER.encode(), "no_rows"),
        ("stores.csv", b"", "empty_file"),
    ],
)
def test_a_bad_file_is_refused_with_a_message_and_nothing_stored(brand, filename, data, code):
    with pytest.raises(InvalidInput) as refused:
        imports.upload_onboarding_import(brand_id=brand.pk, filename=filename, data=data)
    assert refused.value.code == code and refused.value.message
    assert not OnboardingImport.objects.exists()


def test_a_file_over_the_limit_is_refused(brand, settings):
    settings.ONBOARDING_IMPORT_MAX_BYTES = 100
    with pytest.raises(InvalidInput) as refused:
        imports.upload_onboarding_import(
            brand_id=brand.pk, filename="s.csv", data=HEADER.encode() + b"H1,x\n" * 30
        )
    assert refused.value.code == "too_large"


# --- the pages ----------------------------------------------------------------------------------


def test_hq_uploads_and_sees_the_counts_and_refused_rows(client, brand, hq_user):
    client.force_login(hq_user)
    assert client.get(reverse("retail:onboarding:import_new")).status_code == 200
    assert (
        client.get(reverse("retail:onboarding:import_template"))
        .content.decode("utf-8-sig")
        .startswith("code,name")
    )
    file = SimpleUploadedFile("stores.csv", (HEADER + "P1,Page store,,,,,,,\nP2,,,,,,,,\n").encode())
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = client.post(reverse("retail:onboarding:import_new"), {"file": file})
    done = OnboardingImport.objects.get(brand=brand)
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "retail:onboarding:import_detail", kwargs={"onboarding_import_id": done.pk}
    )
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "This field is required." in page.content.decode()
    listed = client.get(reverse("retail:onboarding:import_list")).content.decode()
    assert "stores.csv" in listed
    errors = client.get(
        reverse("retail:onboarding:import_errors_csv", kwargs={"onboarding_import_id": done.pk})
    )
    assert list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig")))) == [
        ["row", "column", "message"],
        ["3", "name", "This field is required."],
    ]
    # the poll of a finished import reloads the page
    status = client.get(
        reverse("retail:onboarding:import_status", kwargs={"onboarding_import_id": done.pk}),
        HTTP_HX_REQUEST="true",
    )
    assert status.headers.get("HX-Refresh") == "true"


def test_a_running_import_shows_a_polling_progress_bar(client, brand, hq_user):
    running = OnboardingImport.objects.create(
        brand=brand, file_name="s.csv", content=HEADER, status="running", progress=40
    )
    client.force_login(hq_user)
    page = client.get(reverse("retail:onboarding:import_detail", kwargs={"onboarding_import_id": running.pk}))
    body = page.content.decode()
    assert 'hx-trigger="every 1s"' in body and 'value="40"' in body


def test_a_bad_upload_is_a_form_error(client, brand, hq_user):
    client.force_login(hq_user)
    file = SimpleUploadedFile("stores.csv", "code,name\nG1,广州店\n".encode("gbk"))
    response = client.post(reverse("retail:onboarding:import_new"), {"file": file})
    assert response.status_code == 400
    assert "UTF-8" in response.content.decode()
    assert not OnboardingImport.objects.exists()


def test_pages_are_for_hq_only(client, brand, manager_user, guide_user):
    done = OnboardingImport.objects.create(brand=brand, file_name="s.csv", content=HEADER)
    urls = [
        reverse("retail:onboarding:import_list"),
        reverse("retail:onboarding:import_new"),
        reverse("retail:onboarding:import_detail", kwargs={"onboarding_import_id": done.pk}),
    ]
    for user in (manager_user, guide_user):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == 403, url
        file = SimpleUploadedFile("stores.csv", (HEADER + "Q1,Q,,,,,,,\n").encode())
        assert client.post(reverse("retail:onboarding:import_new"), {"file": file}).status_code == 403
    assert not Store.objects.filter(code="Q1").exists()
    client.logout()
    assert client.get(urls[0]).status_code == 302  # to the login page


def test_another_brands_import_is_a_404(client, brand, other_brand, hq_user):
    theirs = OnboardingImport.objects.create(brand=other_brand, file_name="theirs.csv", content=HEADER)
    client.force_login(hq_user)
    for name in ("import_detail", "import_status", "import_errors_csv"):
        url = reverse(f"retail:onboarding:{name}", kwargs={"onboarding_import_id": theirs.pk})
        assert client.get(url).status_code == 404, name
    assert "theirs.csv" not in client.get(reverse("retail:onboarding:import_list")).content.decode()


def test_the_import_is_set_based_its_queries_do_not_grow_with_the_rows(brand):
    # given two files, of 10 and of 200 new stores with a manager and two guides each
    def text(prefix: str, n: int) -> str:
        return HEADER + "".join(
            f"{prefix}{i},S {i},,,,,{prefix}m{i},,{prefix}a{i};{prefix}b{i}\n" for i in range(n)
        )

    def queries(prefix: str, n: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            done = upload(brand, text(prefix, n))
        assert done.created == n
        return len(captured)

    # then 190 more stores (570 more users and roles) cost no query per row: one chunk each
    # (PostgreSQL: the same count; SQLite splits a bulk insert by its variable limit)
    small, big = queries("X", 10), queries("Y", 200)
    assert big <= small + 20


def test_the_list_page_reads_a_fixed_number_of_queries(client, brand, hq_user, django_assert_max_num_queries):
    client.force_login(hq_user)
    for n in range(5):
        OnboardingImport.objects.create(
            brand=brand, file_name=f"s{n}.csv", content=HEADER, created_by=hq_user
        )
    client.get(reverse("retail:onboarding:import_list"))  # warm the session and role caches
    with django_assert_max_num_queries(8):
        response = client.get(reverse("retail:onboarding:import_list"))
    assert response.status_code == 200 and "s4.csv" in response.content.decode()


def test_the_pages_speak_chinese(client, brand, hq_user):
    done = upload(brand, HEADER + "Z1,中文店,,,,,,,\nZ2,,,,,,,,\n")
    client.force_login(hq_user)
    page = client.get(
        reverse("retail:onboarding:import_detail", kwargs={"onboarding_import_id": done.pk}),
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert page.status_code == 200
    # the stored English message is worded in the reader's language when shown
    body = page.content.decode()
    assert 'lang="zh-hans"' in body
    assert "This field is required." not in body
