"""Bulk onboarding: a CSV of stores with their managers and guides, imported by a job.

The file (UTF-8, a header row, at most `ONBOARDING_IMPORT_MAX_BYTES`) has the columns
`code, name, city, address, latitude, longitude, manager_username, manager_email,
guide_usernames` (guides separated by `;`); only `code` and `name` are required, columns
may come in any order, unknown columns are ignored.

How it runs (set-based, so 1,000 stores take a few seconds, not minutes):
1. every row is parsed and checked in memory (lengths, coordinates, usernames, emails,
   duplicate codes inside the file);
2. then, a chunk of `CHUNK` rows at a time: one query for the codes the brand already has,
   one for the users the chunk names and the brands they work for; rows still good are
   written in one transaction with `bulk_create` (users, stores, staff roles, onboardings),
   and the import's progress is saved after each chunk.
A row with an error writes nothing at all (it is checked before anything is written), the
others go in. Should a chunk's insert still fail (another import or a person created the same
code or username a moment ago), that chunk is redone a row at a time, each row in its own
savepoint, so it stays all or nothing per row.

Decisions:
- A store whose code the brand already has is **unchanged**: neither it nor its staff is
  touched (edit a store on its page). So importing the same file again is harmless.
- A username nobody has yet becomes a new user with an unusable password: they set one
  through the password-reset flow; no email is sent. An existing user is reused (their email
  is left as it is) unless they are staff of another brand (or a superuser): that row is
  refused. Roles are never duplicated (`ignore_conflicts` on the unique constraint).
- Row errors are stored as [{"row": n, "errors": {field: [message]}}] with n the row number
  as a spreadsheet shows it (the header is row 1). Messages are fixed English sentences
  marked with gettext_noop, translated when shown (`describe_errors`).
- One AuditEvent per import with the counts, not one per store or role; no domain event per
  store (a thousand `store.created` would flood the outbox and webhooks with one import).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .. import audit
from ..choices import AuditAction, Role, StoreStatus
from ..errors import InvalidInput
from ..jobs import enqueue_job
from ..models import OnboardingImport, StaffRole, Store, StoreOnboarding
from ..tenancy import Principal

__all__ = [
    "COLUMNS",
    "describe_errors",
    "errors_csv",
    "imports_for",
    "may_import",
    "run_onboarding_import",
    "template_csv",
    "upload_onboarding_import",
]

COLUMNS = (
    "code",
    "name",
    "city",
    "address",
    "latitude",
    "longitude",
    "manager_username",
    "manager_email",
    "guide_usernames",
)
REQUIRED_COLUMNS = ("code", "name")
MAX_LENGTH = {"code": 32, "name": 120, "city": 60, "address": 255}
MAX_GUIDES = 50
CHUNK = 500  # rows written per transaction (and per progress step)


def _first_step() -> str:
    """The wizard's first step (its registry in retail.onboarding.steps), as
    services.start_onboarding sets it."""
    try:
        from .steps import all_steps
    except ImportError:  # the wizard not there: the step the wizard starts with
        return "basics"
    found = all_steps()
    return found[0].key if found else ""


class Status:
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def max_upload_bytes() -> int:
    return int(getattr(settings, "ONBOARDING_IMPORT_MAX_BYTES", 5 * 1024 * 1024))


# --- messages (fixed sentences: stored in English, translated when shown) --------------------

M_REQUIRED = gettext_noop("This field is required.")
M_TOO_LONG = gettext_noop("This value is too long for the field.")
M_DUPLICATE_CODE = gettext_noop("This code appears in an earlier row of the file.")
M_BAD_NUMBER = gettext_noop("Not a number (use a dot for decimals, e.g. 31.2304).")
M_LATITUDE_RANGE = gettext_noop("A latitude is between -90 and 90.")
M_LONGITUDE_RANGE = gettext_noop("A longitude is between -180 and 180.")
M_COORDINATES_PAIR = gettext_noop("Give both latitude and longitude, or neither.")
M_BAD_USERNAME = gettext_noop("Not a valid username (letters, digits and @ . + - _ only, at most 150).")
M_OTHER_BRAND = gettext_noop("This username belongs to another brand's staff.")
M_BAD_EMAIL = gettext_noop("Not a valid email address.")
M_EMAIL_WITHOUT_MANAGER = gettext_noop("An email needs a manager_username.")
M_TOO_MANY_GUIDES = gettext_noop("Too many guides for one store (at most 50).")
M_GUIDE_IS_MANAGER = gettext_noop("The manager is listed as a guide too.")
M_NOT_WRITTEN = gettext_noop("The row could not be saved (the code or a username was taken meanwhile).")


# --- who may import, and reads for the pages -------------------------------------------------


def may_import(principal: Principal) -> bool:
    """HQ admins onboard stores in bulk (a superuser too, when acting for a brand)."""
    return principal.role == Role.HQ_ADMIN or (principal.is_superuser and principal.role is None)


def imports_for(*, principal: Principal) -> QuerySet[OnboardingImport]:
    """The brand's store imports, newest first; none for anyone but HQ."""
    if not may_import(principal):
        return OnboardingImport.objects.none()
    return OnboardingImport.objects.for_principal(principal).select_related("created_by").defer("content")


def is_running(onboarding_import: OnboardingImport) -> bool:
    return onboarding_import.status in (Status.QUEUED, Status.RUNNING)


def describe_errors(errors: list[dict]) -> list[tuple[int, list[tuple[str, list[str]]]]]:
    """[(row, [(column, [messages])])] with the messages in the reader's language."""
    return [
        (entry["row"], [(column, [_(m) for m in messages]) for column, messages in entry["errors"].items()])
        for entry in errors
    ]


def errors_csv(onboarding_import: OnboardingImport) -> str:
    """The refused rows as a CSV (row, column, message), UTF-8 with BOM for Excel."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["row", "column", "message"])
    for row, columns in describe_errors(onboarding_import.errors):
        for column, messages in columns:
            for message in messages:
                writer.writerow([row, column, message])
    return "\ufeff" + out.getvalue()


def template_csv() -> str:
    """The header row with two example rows (UTF-8 with BOM, so Excel reads the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerow(
        [
            "SH-001",
            "上海南京西路店",
            "上海",
            "南京西路 1266 号",
            "31.2304",
            "121.4737",
            "li.na",
            "li.na@example.com",
            "wang.fang;zhao.lei",
        ]  # fmt: skip
    )
    writer.writerow(["BJ-002", "北京三里屯店", "北京", "三里屯路 19 号", "", "", "chen.jie", "", ""])
    return "\ufeff" + out.getvalue()


# --- upload ----------------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            "bad_encoding",
            _(
                "The file is not UTF-8 text (save it as “CSV UTF-8”). The first bad byte is at position %(at)s."
            )
            % {"at": exc.start},
        ) from exc


def _header(text: str) -> tuple[dict[str, int], list[str]]:
    """{column: position} of the known columns and the unknown column names."""
    try:
        first = next(csv.reader(io.StringIO(text)), None)
    except csv.Error as exc:
        raise InvalidInput("bad_csv", _("The CSV file cannot be read: %(error)s") % {"error": exc}) from exc
    if not first or not any(cell.strip() for cell in first):
        raise InvalidInput("empty_file", _("The file is empty."))
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for i, cell in enumerate(first):
        key = cell.strip().lower().replace(" ", "_")
        if not key:
            continue
        if key in COLUMNS:
            if key in positions:
                raise InvalidInput(
                    "duplicate_column",
                    _("The column “%(column)s” appears twice in the header row.") % {"column": key},
                )
            positions[key] = i
        else:
            unknown.append(cell.strip())
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing:
        raise InvalidInput(
            "missing_columns",
            _("The header row lacks the column(s) %(columns)s. Download the template to see the format.")
            % {"columns": ", ".join(missing)},
        )
    return positions, unknown


def upload_onboarding_import(
    *, brand_id: int, filename: str, data: bytes, created_by=None
) -> tuple[OnboardingImport, list[str]]:
    """Check an uploaded CSV (size, CSV text, UTF-8, header, at least one row), store it and
    start the import job. Returns the import and the unknown (ignored) columns. Raises
    InvalidInput with a message for the form; nothing is stored then."""
    if len(data) > max_upload_bytes():
        raise InvalidInput(
            "too_large",
            _("The file is larger than %(mb)s MB; split it into smaller files.")
            % {"mb": max_upload_bytes() // (1024 * 1024)},
        )
    if not data.strip():
        raise InvalidInput("empty_file", _("The file is empty."))
    if (
        not filename.lower().endswith((".csv", ".txt"))
        or data.startswith(b"PK\x03\x04")
        or b"\x00" in data[:4096]
    ):
        raise InvalidInput("not_csv", _("Upload a CSV file (.csv): a spreadsheet saved as “CSV UTF-8”."))
    text = _decode(data)
    _positions, unknown = _header(text)
    if sum(1 for _row in _records(text)) == 0:
        raise InvalidInput("no_rows", _("The file has a header row but no stores below it."))
    with transaction.atomic():
        onboarding_import = OnboardingImport.objects.create(
            brand_id=brand_id,
            file_name=filename[:200],
            content=text,
            created_by=created_by,
        )
        from .tasks import run_onboarding_import_task

        enqueue_job(run_onboarding_import_task, onboarding_import.pk)
    return onboarding_import, unknown


def _records(text: str):
    """(row number, {column: value}) for every non-blank data row; row 1 is the header."""
    positions, _unknown = _header(text)
    reader = csv.reader(io.StringIO(text))
    next(reader, None)
    for number, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        yield number, {c: (cells[i].strip() if i < len(cells) else "") for c, i in positions.items()}


# --- checking rows (in memory) ---------------------------------------------------------------


@dataclass
class Row:
    number: int
    code: str = ""
    name: str = ""
    city: str = ""
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    manager: str = ""
    manager_email: str = ""
    guides: list[str] = field(default_factory=list)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, column: str, message: str) -> None:
        self.errors.setdefault(column, []).append(message)

    @property
    def usernames(self) -> list[str]:
        return ([self.manager] if self.manager else []) + self.guides


_username_validator = UnicodeUsernameValidator()


def _username_ok(username: str) -> bool:
    if len(username) > 150:
        return False
    try:
        _username_validator(username)
    except ValidationError:
        return False
    return True


def _coordinate(row: Row, column: str, raw: str, limit: int, message: str) -> Decimal | None:
    if not raw:
        return None
    try:
        value = Decimal(raw.replace("，", ","))
    except InvalidOperation:
        row.error(column, M_BAD_NUMBER)
        return None
    if not value.is_finite():
        row.error(column, M_BAD_NUMBER)
        return None
    if not -limit <= value <= limit:
        row.error(column, message)
        return None
    return value.quantize(Decimal("0.000001"))


def parse_row(number: int, raw: dict[str, str]) -> Row:
    """One row, normalised, with what is wrong with it per column (no database reads)."""
    row = Row(number=number)
    for column in ("code", "name", "city", "address"):
        value = raw.get(column, "")
        if len(value) > MAX_LENGTH[column]:
            row.error(column, M_TOO_LONG)
        setattr(row, column, value)
    for column in REQUIRED_COLUMNS:
        if not getattr(row, column):
            row.error(column, M_REQUIRED)
    lat_raw, lng_raw = raw.get("latitude", ""), raw.get("longitude", "")
    row.latitude = _coordinate(row, "latitude", lat_raw, 90, M_LATITUDE_RANGE)
    row.longitude = _coordinate(row, "longitude", lng_raw, 180, M_LONGITUDE_RANGE)
    if bool(lat_raw) != bool(lng_raw):
        row.error("latitude" if not lat_raw else "longitude", M_COORDINATES_PAIR)
    row.manager = raw.get("manager_username", "")
    if row.manager and not _username_ok(row.manager):
        row.error("manager_username", M_BAD_USERNAME)
    row.manager_email = raw.get("manager_email", "")
    if row.manager_email:
        if not row.manager:
            row.error("manager_email", M_EMAIL_WITHOUT_MANAGER)
        try:
            validate_email(row.manager_email)
        except ValidationError:
            row.error("manager_email", M_BAD_EMAIL)
    guides: list[str] = []
    for name in raw.get("guide_usernames", "").replace("；", ";").split(";"):
        name = name.strip()
        if name and name not in guides:
            guides.append(name)
    if any(not _username_ok(g) for g in guides):
        row.error("guide_usernames", M_BAD_USERNAME)
    if len(guides) > MAX_GUIDES:
        row.error("guide_usernames", M_TOO_MANY_GUIDES)
    if row.manager and row.manager in guides:
        row.error("guide_usernames", M_GUIDE_IS_MANAGER)
    row.guides = guides
    return row


def parse_rows(text: str) -> list[Row]:
    """Every data row, parsed; a code seen in an earlier row of the file is an error."""
    rows = [parse_row(number, raw) for number, raw in _records(text)]
    seen: set[str] = set()
    for row in rows:
        if not row.code:
            continue
        if row.code in seen:
            row.error("code", M_DUPLICATE_CODE)
        seen.add(row.code)
    return rows


# --- the job ---------------------------------------------------------------------------------


@dataclass
class Tally:
    created: int = 0
    unchanged: int = 0
    failed: int = 0
    users_created: int = 0
    roles_granted: int = 0
    errors: list[dict] = field(default_factory=list)

    def refuse(self, row: Row) -> None:
        self.failed += 1
        self.errors.append({"row": row.number, "errors": row.errors})


def run_onboarding_import(*, import_id: int) -> OnboardingImport:
    """Import a queued store import (the job's body). Idempotent: a finished import is left
    as it is, and one run again after a crash finds its stores there already (unchanged)."""
    onboarding_import = OnboardingImport.objects.get(pk=import_id)
    if onboarding_import.status in (Status.DONE, Status.FAILED):
        return onboarding_import
    OnboardingImport.objects.filter(pk=import_id).update(status=Status.RUNNING, progress=0)
    try:
        rows = parse_rows(onboarding_import.content)
        tally = Tally()
        OnboardingImport.objects.filter(pk=import_id).update(rows=len(rows), progress=5)
        for start in range(0, len(rows), CHUNK):
            _import_chunk(onboarding_import, rows[start : start + CHUNK], tally)
            done = min(len(rows), start + CHUNK)
            OnboardingImport.objects.filter(pk=import_id).update(
                progress=5 + int(94 * done / max(1, len(rows))),
                created=tally.created,
                unchanged=tally.unchanged,
                failed=tally.failed,
            )
    except Exception as exc:
        OnboardingImport.objects.filter(pk=import_id).update(
            status=Status.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        raise
    tally.errors.sort(key=lambda e: e["row"])
    with transaction.atomic():
        OnboardingImport.objects.filter(pk=import_id).update(
            status=Status.DONE,
            progress=100,
            created=tally.created,
            unchanged=tally.unchanged,
            failed=tally.failed,
            errors=tally.errors,
            finished_at=timezone.now(),
        )
        onboarding_import.refresh_from_db()
        audit.record(
            AuditAction.CREATE,
            onboarding_import,
            actor_id=onboarding_import.created_by_id,
            after={
                "rows": len(rows),
                "stores_created": tally.created,
                "unchanged": tally.unchanged,
                "refused": tally.failed,
                "users_created": tally.users_created,
                "roles_granted": tally.roles_granted,
            },
            message=(
                f"store import: {tally.created} stores created, {tally.unchanged} unchanged, "
                f"{tally.failed} rows refused; {tally.users_created} users created, "
                f"{tally.roles_granted} roles granted"
            ),
        )
    return onboarding_import


def _staff_elsewhere(usernames: set[str], brand_id: int) -> tuple[dict[str, Any], set[str]]:
    """{username: user} of the existing users among `usernames`, and the usernames that are
    another brand's staff or superusers (refused). Two queries."""
    User = get_user_model()
    users = {u.username: u for u in User.objects.filter(username__in=usernames)}
    refused = {u.username for u in users.values() if u.is_superuser}
    if users:
        refused |= set(
            StaffRole.objects.filter(user__in=[u.pk for u in users.values()])
            .exclude(brand_id=brand_id)
            .values_list("user__username", flat=True)
        )
    return users, refused


def _import_chunk(onboarding_import: OnboardingImport, rows: list[Row], tally: Tally) -> None:
    brand_id = onboarding_import.brand_id
    codes = {r.code for r in rows if r.code and not r.errors}
    existing = set(Store.objects.filter(brand_id=brand_id, code__in=codes).values_list("code", flat=True))
    usernames = {u for r in rows if not r.errors and r.code not in existing for u in r.usernames}
    users, refused = _staff_elsewhere(usernames, brand_id)
    good: list[Row] = []
    for row in rows:
        if not row.errors and row.code in existing:
            tally.unchanged += 1
            continue
        if not row.errors:
            if row.manager in refused:
                row.error("manager_username", M_OTHER_BRAND)
            if any(g in refused for g in row.guides):
                row.error("guide_usernames", M_OTHER_BRAND)
        if row.errors:
            tally.refuse(row)
        else:
            good.append(row)
    if not good:
        return
    try:
        with transaction.atomic():
            _write(onboarding_import, good, users, tally)
    except IntegrityError:
        # someone took a code or a username since the check: redo this chunk row by row
        _write_one_by_one(onboarding_import, good, tally)


def _write(onboarding_import: OnboardingImport, rows: list[Row], users: dict[str, Any], tally: Tally) -> None:
    """Insert the rows' users, stores, roles and onboardings (all checked already)."""
    User = get_user_model()
    brand_id = onboarding_import.brand_id
    now = timezone.now()
    first_step = _first_step()
    emails = {}
    for row in rows:
        if row.manager and row.manager_email:
            emails.setdefault(row.manager, row.manager_email)
    missing = sorted({u for row in rows for u in row.usernames} - set(users))
    if missing:
        User.objects.bulk_create(
            [User(username=u, email=emails.get(u, ""), password=make_password(None)) for u in missing]
        )
        users = {**users, **{u.username: u for u in User.objects.filter(username__in=missing)}}
    stores = Store.objects.bulk_create(
        [
            Store(
                brand_id=brand_id,
                code=r.code,
                name=r.name,
                city=r.city,
                address=r.address,
                latitude=r.latitude,
                longitude=r.longitude,
                status=StoreStatus.ONBOARDING,
            )
            for r in rows
        ]
    )
    if any(s.pk is None for s in stores):  # a backend that returns no ids: read them back
        ids = dict(
            Store.objects.filter(brand_id=brand_id, code__in=[r.code for r in rows]).values_list("code", "pk")
        )
        for store in stores:
            store.pk = ids[store.code]
    roles = [
        StaffRole(user_id=users[username].pk, brand_id=brand_id, store_id=store.pk, role=role)
        for row, store in zip(rows, stores, strict=True)
        for username, role in (
            ([(row.manager, Role.STORE_MANAGER)] if row.manager else [])
            + [(g, Role.GUIDE) for g in row.guides]
        )
    ]
    StaffRole.objects.bulk_create(roles, ignore_conflicts=True)
    StoreOnboarding.objects.bulk_create(
        [
            StoreOnboarding(
                brand_id=brand_id,
                store_id=store.pk,
                started_at=now,
                started_by_id=onboarding_import.created_by_id,
                current_step=first_step,
            )
            for store in stores
        ],
        ignore_conflicts=True,  # started by the wizard a moment ago: keep that one
    )
    tally.created += len(stores)
    tally.users_created += len(missing)
    tally.roles_granted += len(roles)


def _write_one_by_one(onboarding_import: OnboardingImport, rows: list[Row], tally: Tally) -> None:
    """The slow path after a lost race: each row in its own savepoint, checked again."""
    for row in rows:
        if Store.objects.filter(brand_id=onboarding_import.brand_id, code=row.code).exists():
            tally.unchanged += 1
            continue
        users, refused = _staff_elsewhere(set(row.usernames), onboarding_import.brand_id)
        if refused & set(row.usernames):
            field_name = "manager_username" if row.manager in refused else "guide_usernames"
            row.error(field_name, M_OTHER_BRAND)
            tally.refuse(row)
            continue
        try:
            with transaction.atomic():
                _write(onboarding_import, [row], users, tally)
        except IntegrityError:
            row.error("code", M_NOT_WRITTEN)
            tally.refuse(row)
