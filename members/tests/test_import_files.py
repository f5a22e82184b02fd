"""Uploaded member files hold phones and names in clear: kept only while they are needed."""

import os
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from members.choices import ImportStage
from members.models import MemberImport
from members.services import imports as services
from members.tests.test_imports import csv_bytes, run_import, upload
from retail.schedules import PERIODIC_TASKS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


DATA = csv_bytes([["13812345678", "李雷"], ["13912345678", "韩梅梅"]], header=["phone", "name"])


def test_a_finished_import_deletes_its_uploaded_file(client, brand, hq_user):
    # given an uploaded file (stored while it is checked and imported)
    member_import = upload(brand, DATA)
    path = member_import.file.path
    assert os.path.exists(path)
    # when the import finishes
    done = run_import(member_import)
    # then the file is gone from storage, and the import's page still tells what happened
    assert done.stage == ImportStage.DONE and done.created_count == 2
    assert not os.path.exists(path) and not done.file
    client.force_login(hq_user)
    assert client.get(reverse("members:import_detail", kwargs={"import_id": done.pk})).status_code == 200


def test_an_upload_left_unfinished_loses_its_file_after_the_retention(brand, settings):
    # given a checked import nobody confirmed, uploaded eight days ago
    settings.MEMBER_IMPORT_FILE_RETENTION_DAYS = 7
    member_import = upload(brand, DATA)
    path = member_import.file.path
    MemberImport.objects.filter(pk=member_import.pk).update(created_at=timezone.now() - timedelta(days=8))
    fresh = upload(brand, csv_bytes([["13700001111", "新"]], header=["phone", "name"]))
    # when the daily clean-up runs (the file is deleted after commit)
    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        assert services.discard_stale_uploads() == 1
    # then the old upload's file is deleted and the import says why; the fresh one is kept
    member_import.refresh_from_db()
    assert member_import.stage == ImportStage.FAILED and "upload it again" in member_import.error
    assert not os.path.exists(path) and not member_import.file
    fresh.refresh_from_db()
    assert fresh.file and os.path.exists(fresh.file.path)
    # and the same file may be uploaded again (the repeat check ignores a discarded upload)
    again = upload(brand, DATA, name="again.csv")
    assert again.pk != member_import.pk and again.stage == ImportStage.CHECKED


def test_the_clean_up_is_scheduled_daily():
    task, crontab, _why = PERIODIC_TASKS["discard-stale-member-uploads"]
    assert task == "members.tasks.imports.discard_stale_uploads_task"
    assert crontab["hour"] == "4" and "day_of_month" not in crontab
