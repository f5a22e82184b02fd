"""Member imports (CSV / XLSX): upload, dry run with per-row errors, import in batches.

The file is never held in memory: CSV is read through a text wrapper over the stored file,
XLSX with openpyxl's read-only mode, a row at a time, and the work is done in batches of
`MEMBER_IMPORT_BATCH_SIZE` rows. Each import batch is one transaction that also advances
`MemberImport.rows_done`, so a crash resumes after the last committed batch and a row is
never imported twice. A phone already known to the brand (or seen earlier in the file) is
merged into that member: blank fields are filled, consent changes are recorded, tags added,
nothing non-empty is overwritten.

Decisions:
- Unknown columns are ignored with a warning (shown at upload and on the preview), so an
  export from another system can be imported as it is.
- Row errors are stored as codes (`{"phone": [{"code": "invalid_phone", "value": "138****5678"}]}`)
  and worded in the reader's language by `members.selectors.imports`; a phone appears masked.
- Within-file duplicates are a note (`{"_note": [...]}`), not an error: the row is merged.
- No per-member domain event: a 100,000-row import would flood the outbox, rollups and
  webhooks with historic joins. Imported members are back-filled history, not joins happening
  now; the import writes one AuditEvent with its counts instead.
- While an import is `checked`, `created_count` / `merged_count` hold the dry run's forecast
  (new vs merged); starting the import resets them and they then count what was done.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import random
import re
import time as clock
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from retail import audit
from retail.choices import AuditAction, Role
from retail.errors import Conflict, DomainError, InvalidInput
from retail.jobs import enqueue_job
from retail.models import Brand, StaffRole, Store

from .. import pii
from ..choices import ConsentChannel, ConsentSource, ImportFormat, ImportStage, MemberSource, TagSource
from ..models import ConsentRecord, Member, MemberImport, MemberImportError, MemberTag, Tag
from . import next_member_no

NOTE = "_note"  # key of a within-file duplicate's note in MemberImportError.errors


def batch_size() -> int:
    return int(getattr(settings, "MEMBER_IMPORT_BATCH_SIZE", 5000))


def max_upload_bytes() -> int:
    return int(getattr(settings, "MEMBER_IMPORT_MAX_BYTES", 50 * 1024 * 1024))


# --- columns ---------------------------------------------------------------------------------

COLUMNS = (
    "phone",
    "name",
    "external_id",
    "store",
    "guide",
    "joined_at",
    "consent_call",
    "consent_sms",
    "consent_chat",
    "tags",
)
# Header aliases, compared after `_header_key` (NFKC, case-folded, no spaces, _ or -).
ALIASES = {
    "phone": ("phone", "mobile", "手机号", "手机", "手机号码", "电话"),
    "name": ("name", "姓名", "名字"),
    "external_id": ("external_id", "externalid", "外部编号", "外部id"),
    "store": ("store", "store_code", "门店", "门店编码", "门店代码"),
    "guide": ("guide", "导购"),
    "joined_at": ("joined_at", "joined", "入会时间", "入会日期"),
    "consent_call": ("consent_call", "电话同意"),
    "consent_sms": ("consent_sms", "短信同意"),
    "consent_chat": ("consent_chat", "企微同意"),
    "tags": ("tags", "tag", "标签"),
}
TEMPLATE_HEADER = list(COLUMNS)
CONSENT_COLUMNS = ("consent_call", "consent_sms", "consent_chat")
MAX_NAME = 40
MAX_EXTERNAL_ID = 64
MAX_TAG = 40
MAX_TAGS_PER_ROW = 20
TRUE_WORDS = {"yes", "y", "1", "true", "t", "是", "同意", "√"}
FALSE_WORDS = {"no", "n", "0", "false", "f", "否", "不同意", "×"}
TAG_SPLIT = re.compile(r"[;；,，]")


def _header_key(value: Any) -> str:
    text = unicodedata.normalize("NFKC", str(value or "")).casefold()
    return re.sub(r"[\s_\-]+", "", text)


_ALIAS_INDEX = {_header_key(alias): column for column, aliases in ALIASES.items() for alias in aliases}


@dataclass
class Header:
    """Which file column holds which field; columns nobody knows are listed to warn about."""

    positions: dict[str, int]
    unknown: list[str] = field(default_factory=list)


def read_header(cells: list[Any]) -> Header:
    """Map a header row to our columns; raise InvalidInput for a missing phone column or a
    column given twice."""
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for i, cell in enumerate(cells):
        key = _header_key(cell)
        if not key:
            continue
        column = _ALIAS_INDEX.get(key)
        if column is None:
            unknown.append(str(cell).strip())
        elif column in positions:
            raise InvalidInput(
                "duplicate_column",
                _("The column “%(column)s” appears twice in the header row.") % {"column": str(cell).strip()},
            )
        else:
            positions[column] = i
    if "phone" not in positions:
        raise InvalidInput(
            "no_phone_column",
            _("The header row has no phone column (phone or 手机号)."),
        )
    return Header(positions=positions, unknown=unknown)


# --- reading a file, a row at a time --------------------------------------------------------


def detect_encoding(fileobj: IO[bytes]) -> str:
    """utf-8-sig (with or without BOM) or gb18030, by decoding the whole file in chunks."""
    for encoding in ("utf-8-sig", "gb18030"):
        fileobj.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := fileobj.read(1 << 16):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        fileobj.seek(0)
        return encoding
    raise InvalidInput(
        "undecodable", _("The CSV file is neither UTF-8 nor GB18030 text; save it as UTF-8 CSV.")
    )


def _csv_records(fileobj: IO[bytes]) -> Iterator[list[Any]]:
    encoding = detect_encoding(fileobj)
    text = io.TextIOWrapper(fileobj, encoding=encoding, newline="")
    try:
        yield from csv.reader(text)
    except csv.Error as exc:
        raise InvalidInput("bad_csv", _("The CSV file cannot be read: %(error)s") % {"error": exc}) from exc
    finally:
        try:
            text.detach()  # leave the underlying file to its owner
        except ValueError:  # the owner closed it already
            pass


def _xlsx_records(fileobj: IO[bytes]) -> Iterator[list[Any]]:
    import zipfile

    from openpyxl import load_workbook

    fileobj.seek(0)
    try:
        workbook = load_workbook(fileobj, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InvalidInput("bad_xlsx", _("The file is not a readable XLSX workbook.")) from exc
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        workbook.close()


def records(fileobj: IO[bytes], file_format: str) -> Iterator[list[Any]]:
    """Every record of the file (the header first), streamed."""
    if file_format == ImportFormat.XLSX:
        return _xlsx_records(fileobj)
    return _csv_records(fileobj)


def _blank(values: list[Any]) -> bool:
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def data_rows(fileobj: IO[bytes], file_format: str) -> tuple[Header, Iterator[tuple[int, dict[str, Any]]]]:
    """The header and an iterator of (row number in the file, {column: raw value}) for every
    non-blank data row. Row 1 is the header, as a spreadsheet numbers it."""
    it = records(fileobj, file_format)
    header_cells = None
    number = 0
    for cells in it:
        number += 1
        if not _blank(cells):
            header_cells = cells
            break
    if header_cells is None:
        raise InvalidInput("empty_file", _("The file is empty."))
    header = read_header(header_cells)

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        n = number
        for cells in it:
            n += 1
            if _blank(cells):
                continue
            yield n, {c: (cells[i] if i < len(cells) else None) for c, i in header.positions.items()}

    return header, rows()


def format_of(filename: str, head: bytes) -> str:
    """The file's format from its name, checked against its first bytes."""
    lower = filename.lower()
    is_zip = head.startswith(b"PK\x03\x04")
    if lower.endswith(".xlsx"):
        if not is_zip:
            raise InvalidInput("bad_xlsx", _("The file is not a readable XLSX workbook."))
        return ImportFormat.XLSX
    if lower.endswith((".csv", ".txt")):
        if is_zip or b"\x00" in head:
            raise InvalidInput("not_csv", _("The file is not CSV text."))
        return ImportFormat.CSV
    raise InvalidInput("bad_format", _("Upload a CSV or XLSX file (.csv or .xlsx)."))


@dataclass
class Inspection:
    """What an upload is: its format, digest and header (unknown columns to warn about)."""

    file_format: str
    sha256: str
    header: Header


def inspect_upload(*, fileobj: IO[bytes], filename: str, size: int) -> Inspection:
    """Check an uploaded file before anything is stored: size, format, encoding, header and
    at least one data row. Raises InvalidInput with a message for the form."""
    if size > max_upload_bytes():
        raise InvalidInput(
            "too_large",
            _("The file is larger than %(mb)s MB; split it into smaller files.")
            % {"mb": max_upload_bytes() // (1024 * 1024)},
        )
    if size == 0:
        raise InvalidInput("empty_file", _("The file is empty."))
    fileobj.seek(0)
    file_format = format_of(filename, fileobj.read(8))
    digest = hashlib.sha256()
    fileobj.seek(0)
    while chunk := fileobj.read(1 << 16):
        digest.update(chunk)
    fileobj.seek(0)
    header, rows = data_rows(fileobj, file_format)
    if next(rows, None) is None:
        raise InvalidInput("no_rows", _("The file has a header row but no members below it."))
    fileobj.seek(0)
    return Inspection(file_format=file_format, sha256=digest.hexdigest(), header=header)


def header_of(member_import: MemberImport) -> Header | None:
    """The stored file's header (for the preview's warnings); None if it cannot be read."""
    try:
        with member_import.file.open("rb") as fileobj:
            header, _rows = data_rows(fileobj, member_import.file_format)
            return header
    except (OSError, DomainError, ValueError):
        return None


# --- checking one row -------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date):
        return value.isoformat()
    return unicodedata.normalize("NFKC", str(value)).strip()


def _mask_raw(raw: str) -> str:
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 4:
        return "*" * len(digits)
    return pii.mask_phone(digits)


def _boolean(raw: Any) -> bool | None:
    if isinstance(raw, bool):
        return raw
    text = _text(raw).casefold()
    if not text:
        return None
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(text)


DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
DATETIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")


def _joined_at(raw: Any, now: datetime) -> datetime:
    if isinstance(raw, datetime):
        value = raw
    elif isinstance(raw, date):
        value = datetime.combine(raw, time())
    else:
        text = _text(raw).replace("T", " ")
        if not text:
            return now
        value = None
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            for fmt in DATETIME_FORMATS + DATE_FORMATS:
                try:
                    value = datetime.strptime(text, fmt)
                    break
                except ValueError:
                    continue
        if value is None:
            raise ValueError(text)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    if value > now:
        raise OverflowError(value)
    return value


@dataclass
class Row:
    """One data row, parsed: clear phone only in memory, never stored in clear."""

    number: int
    phone: str = ""
    phone_hash: str = ""
    name: str = ""
    external_id: str = ""
    store_code: str = ""
    guide_username: str = ""
    joined_at: datetime | None = None
    consents: dict[str, bool] = field(default_factory=dict)  # stated channels only
    tags: list[str] = field(default_factory=list)
    errors: dict[str, list[dict]] = field(default_factory=dict)
    store_id: int | None = None
    guide_id: int | None = None
    # encrypted before the batch's transaction (the slow part), so the transaction is short
    phone_encrypted: str = ""
    name_encrypted: str = ""

    def error(self, column: str, code: str, value: str = "") -> None:
        entry = {"code": code}
        if value:
            entry["value"] = value
        self.errors.setdefault(column, []).append(entry)


def parse_row(number: int, raw: dict[str, Any], *, now: datetime) -> Row:
    """Normalise one row and note what is wrong with it per column (no database reads)."""
    row = Row(number=number)
    phone_raw = _text(raw.get("phone"))
    if not phone_raw:
        row.error("phone", "required")
    else:
        try:
            row.phone = pii.normalize_phone(phone_raw)
            row.phone_hash = pii.blind_index(row.phone)
        except pii.InvalidPhone:
            row.error("phone", "invalid_phone", _mask_raw(phone_raw))
    row.name = _text(raw.get("name"))
    if len(row.name) > MAX_NAME:
        row.error("name", "too_long", str(MAX_NAME))
    row.external_id = _text(raw.get("external_id"))
    if len(row.external_id) > MAX_EXTERNAL_ID:
        row.error("external_id", "too_long", str(MAX_EXTERNAL_ID))
    row.store_code = _text(raw.get("store"))
    row.guide_username = _text(raw.get("guide"))
    try:
        row.joined_at = _joined_at(raw.get("joined_at"), now)
    except ValueError:
        row.error("joined_at", "invalid_date", _text(raw.get("joined_at"))[:30])
    except OverflowError:
        row.error("joined_at", "future_date")
    for column in CONSENT_COLUMNS:
        try:
            stated = _boolean(raw.get(column))
        except ValueError:
            row.error(column, "invalid_boolean", _text(raw.get(column))[:20])
            continue
        if stated is not None:
            row.consents[column] = stated
    seen: set[str] = set()
    for part in TAG_SPLIT.split(_text(raw.get("tags"))):
        tag = part.strip()
        if not tag or tag in seen:
            continue
        if len(tag) > MAX_TAG:
            row.error("tags", "tag_too_long", str(MAX_TAG))
            continue
        seen.add(tag)
        row.tags.append(tag)
    if len(row.tags) > MAX_TAGS_PER_ROW:
        row.error("tags", "too_many_tags", str(MAX_TAGS_PER_ROW))
    return row


class _Lookups:
    """Per-import caches of the brand's stores (by code) and guides (by username), filled a
    batch at a time with one query per batch for codes not seen yet."""

    def __init__(self, member_import: MemberImport):
        self.brand_id = member_import.brand_id
        self.default_store_id = member_import.store_id
        self.allowed_store_ids = allowed_store_ids(member_import)
        self.stores: dict[str, int | None] = {}
        self.guides: dict[str, int | None] = {}

    def resolve(self, rows: list[Row]) -> None:
        codes = {r.store_code for r in rows if r.store_code} - self.stores.keys()
        if codes:
            found = dict(
                Store.objects.filter(brand_id=self.brand_id, code__in=codes).values_list("code", "pk")
            )
            self.stores.update({c: found.get(c) for c in codes})
        names = {r.guide_username for r in rows if r.guide_username} - self.guides.keys()
        if names:
            found = dict(
                StaffRole.objects.filter(
                    brand_id=self.brand_id, role=Role.GUIDE, user__username__in=names
                ).values_list("user__username", "user_id")
            )
            self.guides.update({n: found.get(n) for n in names})
        for row in rows:
            if row.store_code:
                row.store_id = self.stores.get(row.store_code)
                if row.store_id is None:
                    row.error("store", "unknown_store", row.store_code[:32])
            else:
                row.store_id = self.default_store_id
            if row.store_id is not None and self.allowed_store_ids is not None:
                if row.store_id not in self.allowed_store_ids:
                    row.error("store", "not_your_store", row.store_code[:32])
            if row.guide_username:
                row.guide_id = self.guides.get(row.guide_username)
                if row.guide_id is None:
                    row.error("guide", "unknown_guide", row.guide_username[:40])


def allowed_store_ids(member_import: MemberImport) -> set[int] | None:
    """Stores the uploader may import into: None (all) for HQ or a superuser, else the stores
    they manage in the brand."""
    user = member_import.uploaded_by
    if user is None or user.is_superuser:
        return None
    roles = StaffRole.objects.filter(brand_id=member_import.brand_id, user=user)
    if roles.filter(role=Role.HQ_ADMIN).exists():
        return None
    return set(roles.filter(role=Role.STORE_MANAGER).values_list("store_id", flat=True))


def _external_id_clashes(brand_id: int, rows: list[Row]) -> None:
    """An external id another member of the brand (another phone) already holds is an error."""
    wanted = {r.external_id for r in rows if r.external_id}
    if not wanted:
        return
    holders = dict(
        Member.objects.filter(brand_id=brand_id, external_id__in=wanted).values_list(
            "external_id", "phone_hash"
        )
    )
    for row in rows:
        holder = holders.get(row.external_id)
        if row.external_id and holder is not None and holder != row.phone_hash:
            row.error("external_id", "external_id_taken", row.external_id[:MAX_EXTERNAL_ID])


def _batches(rows: Iterator[tuple[int, dict]], size: int) -> Iterator[list[tuple[int, dict]]]:
    batch: list[tuple[int, dict]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _short_hash(phone_hash: str) -> int:
    # 64 bits of the blind index: enough to spot a repeated phone in a file of millions of
    # rows (collision odds ~1e-8) at a fraction of the memory of the hex strings
    return int(phone_hash[:16], 16)


# --- upload -----------------------------------------------------------------------------------


def upload_member_import(
    *,
    brand_id: int,
    store: Store | None,
    fileobj: IO[bytes],
    filename: str,
    size: int,
    uploaded_by=None,
) -> tuple[MemberImport, list[str]]:
    """Store an uploaded file as a MemberImport and start its dry run. Returns the import and
    the unknown columns it will ignore. A file the brand already uploaded (same sha256) is a
    Conflict naming the earlier import: a repeat imports nothing twice."""
    if store is not None and store.brand_id != brand_id:
        raise InvalidInput("other_brand", _("Unknown store."), fields={"store": [_("Not found.")]})
    inspection = inspect_upload(fileobj=fileobj, filename=filename, size=size)
    with transaction.atomic():
        # the brand's row lock makes a double-posted upload find the first one
        Brand.objects.select_for_update(no_key=True).filter(pk=brand_id).values_list("pk", flat=True).first()
        earlier = (
            MemberImport.objects.filter(brand_id=brand_id, sha256=inspection.sha256)
            .exclude(stage=ImportStage.FAILED, started_at__isnull=True)
            .exclude(~Q(stage=ImportStage.DONE) & Q(file=""))  # discarded unfinished: upload again
            .order_by("-id")
            .first()
        )
        if earlier is not None:
            if earlier.stage == ImportStage.DONE:
                message = _("This file was already imported (import #%(id)s); nothing was imported twice.")
            else:
                message = _("This file was already uploaded (import #%(id)s); continue with that import.")
            raise Conflict("duplicate_file", message % {"id": earlier.pk}, fields={"import_id": earlier.pk})
        member_import = MemberImport(
            brand_id=brand_id,
            store=store,
            original_name=filename[:200],
            file_format=inspection.file_format,
            sha256=inspection.sha256,
            uploaded_by=uploaded_by,
        )
        fileobj.seek(0)
        member_import.file.save(f"upload.{inspection.file_format}", File(fileobj), save=False)
        member_import.save()
        audit.record(
            AuditAction.CREATE,
            member_import,
            after={"file": member_import.original_name, "sha256": member_import.sha256},
            message="member import uploaded",
        )
        start_check(member_import=member_import)
    return member_import, inspection.header.unknown


def start_check(*, member_import: MemberImport) -> MemberImport:
    """(Re)start the dry run of an uploaded or checked import (not one that began importing)."""
    from ..tasks.imports import check_member_import_task

    if member_import.stage in (ImportStage.IMPORTING, ImportStage.DONE) or member_import.started_at:
        raise Conflict("already_importing", _("This import has already started; it cannot be checked again."))
    MemberImport.objects.filter(pk=member_import.pk).update(
        stage=ImportStage.CHECKING, rows_checked=0, error=""
    )
    member_import.stage = ImportStage.CHECKING
    enqueue_job(check_member_import_task, member_import.pk)
    return member_import


# --- the dry run ------------------------------------------------------------------------------


def _estimate_rows(member_import: MemberImport) -> int:
    """Rows to expect, for the progress bar: counted for CSV (fast), read from the sheet's
    dimensions for XLSX."""
    with member_import.file.open("rb") as fileobj:
        if member_import.file_format == ImportFormat.XLSX:
            from openpyxl import load_workbook

            workbook = load_workbook(fileobj, read_only=True, data_only=True)
            try:
                return max(0, (workbook.worksheets[0].max_row or 1) - 1)
            finally:
                workbook.close()
        return max(0, sum(1 for _ in records(fileobj, member_import.file_format)) - 1)


def check_member_import(*, import_id: int) -> MemberImport:
    """The dry run: read every row, store its errors (batched), count the rows, forecast how
    many members are new and how many merge. Writes no member. Safe to run again."""
    member_import = MemberImport.objects.select_related("uploaded_by").get(pk=import_id)
    if member_import.stage != ImportStage.CHECKING:
        return member_import  # already checked, importing or done: nothing to do
    try:
        member_import.rows_total = _estimate_rows(member_import)
        MemberImport.objects.filter(pk=import_id).update(rows_total=member_import.rows_total, rows_checked=0)
        MemberImportError.objects.filter(member_import_id=import_id).delete()
        counts = _check_rows(member_import)
    except DomainError as exc:
        _fail(import_id, exc.message)
        raise
    except Exception as exc:
        _fail(import_id, _("The file could not be checked: %(error)s") % {"error": exc.__class__.__name__})
        raise
    MemberImport.objects.filter(pk=import_id, stage=ImportStage.CHECKING).update(
        stage=ImportStage.CHECKED,
        rows_total=counts["rows"],
        rows_checked=counts["rows"],
        rows_invalid=counts["invalid"],
        created_count=counts["new"],
        merged_count=counts["merged"],
    )
    member_import.refresh_from_db()
    return member_import


def _check_rows(member_import: MemberImport) -> dict[str, int]:
    brand_id = member_import.brand_id
    lookups = _Lookups(member_import)
    now = timezone.now()
    seen_phones: set[int] = set()
    seen_external: dict[str, int] = {}  # external id → short phone hash of its first row
    counts = {"rows": 0, "invalid": 0, "new": 0, "merged": 0}
    with member_import.file.open("rb") as fileobj:
        _header, rows = data_rows(fileobj, member_import.file_format)
        for batch in _batches(rows, batch_size()):
            parsed = [parse_row(n, raw, now=now) for n, raw in batch]
            lookups.resolve(parsed)
            _external_id_clashes(brand_id, parsed)
            hashes = {r.phone_hash for r in parsed if r.phone_hash}
            known = set(
                Member.objects.filter(brand_id=brand_id, phone_hash__in=hashes).values_list(
                    "phone_hash", flat=True
                )
            )
            problems = []
            for row in parsed:
                short = _short_hash(row.phone_hash) if row.phone_hash else 0
                if row.external_id and not row.errors:
                    first = seen_external.setdefault(row.external_id, short)
                    if first != short:
                        row.error("external_id", "external_id_repeated", row.external_id[:MAX_EXTERNAL_ID])
                if row.errors:
                    counts["invalid"] += 1
                    problems.append(
                        MemberImportError(
                            member_import=member_import, row_number=row.number, errors=row.errors
                        )
                    )
                    continue
                if short in seen_phones:
                    counts["merged"] += 1
                    problems.append(
                        MemberImportError(
                            member_import=member_import,
                            row_number=row.number,
                            errors={NOTE: [{"code": "repeated_phone", "value": pii.mask_phone(row.phone)}]},
                        )
                    )
                    continue
                seen_phones.add(short)
                counts["merged" if row.phone_hash in known else "new"] += 1
            MemberImportError.objects.bulk_create(problems, ignore_conflicts=True)
            counts["rows"] += len(parsed)
            MemberImport.objects.filter(pk=member_import.pk).update(
                rows_checked=counts["rows"], rows_total=max(counts["rows"], member_import.rows_total or 0)
            )
            member_import.rows_total = max(counts["rows"], member_import.rows_total or 0)
    return counts


def _fail(import_id: int, message: str) -> None:
    MemberImport.objects.filter(pk=import_id).update(
        stage=ImportStage.FAILED, error=message[:1000], finished_at=timezone.now()
    )


# --- the import -------------------------------------------------------------------------------


def start_import(*, member_import: MemberImport) -> MemberImport:
    """Start importing a checked import, or resume one that failed or stalled mid-way (it
    continues after the last committed batch)."""
    from ..tasks.imports import run_member_import_task

    with transaction.atomic():
        locked = MemberImport.objects.select_for_update().get(pk=member_import.pk)
        if locked.stage == ImportStage.CHECKED:
            locked.rows_done = locked.created_count = locked.merged_count = 0
            locked.started_at = timezone.now()
        elif not (
            locked.stage == ImportStage.IMPORTING
            or (locked.stage == ImportStage.FAILED and locked.started_at)
        ):
            raise Conflict(
                "not_ready", _("Only a checked import can be imported, or an interrupted one resumed.")
            )
        locked.stage = ImportStage.IMPORTING
        locked.error = ""
        locked.finished_at = None
        locked.save(
            update_fields=[
                "stage",
                "error",
                "finished_at",
                "rows_done",
                "created_count",
                "merged_count",
                "started_at",
            ]
        )
        enqueue_job(run_member_import_task, locked.pk)
    return locked


class _Interrupted(Exception):
    """Another runner moved the import on: this one stops (the other finishes the job)."""


def run_member_import(*, import_id: int, on_batch=None) -> MemberImport:
    """Import the valid rows after `rows_done`, a batch per transaction. Each batch locks the
    import row, checks nobody else moved `rows_done`, writes, and advances `rows_done` in the
    same commit; a crash loses at most the batch in flight and a rerun continues from there.

    `on_batch(n)` is called after each committed batch (tests use it to simulate a crash)."""
    member_import = MemberImport.objects.select_related("uploaded_by").get(pk=import_id)
    if member_import.stage != ImportStage.IMPORTING:
        return member_import
    position = member_import.rows_done
    lookups = _Lookups(member_import)
    now = timezone.now()
    try:
        with member_import.file.open("rb") as fileobj:
            _header, rows = data_rows(fileobj, member_import.file_format)
            # the file never changes (its sha256 is the import's identity), so skipping the
            # first `rows_done` rows lands exactly after the last committed batch
            remaining = itertools.islice(rows, position, None)
            for batch_no, batch in enumerate(_batches(remaining, batch_size()), start=1):
                parsed = [parse_row(n, raw, now=now) for n, raw in batch]
                lookups.resolve(parsed)
                for row in parsed:
                    if not row.errors:
                        row.phone_encrypted = pii.encrypt(row.phone)
                        row.name_encrypted = pii.encrypt(row.name)
                _import_batch(member_import, parsed, position)
                position += len(batch)
                if on_batch is not None:
                    on_batch(batch_no)
    except _Interrupted:
        return MemberImport.objects.get(pk=import_id)
    except Exception as exc:
        _fail(
            import_id,
            _("The import stopped: %(error)s. Resume it to continue.") % {"error": exc.__class__.__name__},
        )
        raise
    with transaction.atomic():
        done = MemberImport.objects.select_for_update().get(pk=import_id)
        if done.stage != ImportStage.IMPORTING:
            return done
        done.stage = ImportStage.DONE
        done.finished_at = timezone.now()
        done.save(update_fields=["stage", "finished_at"])
        # the upload holds phones and names in clear: once imported it is not kept
        transaction.on_commit(lambda: _discard_file(import_id))
        audit.record(
            AuditAction.CREATE,
            done,
            actor_id=done.uploaded_by_id,
            actor_label=done.uploaded_by.get_username() if done.uploaded_by else "",
            after={
                "rows": done.rows_total,
                "created": done.created_count,
                "merged": done.merged_count,
                "invalid": done.rows_invalid,
            },
            message=f"member import: {done.created_count} new, {done.merged_count} merged, {done.rows_invalid} skipped",
        )
    return done


BATCH_ATTEMPTS = 10


def _import_batch(member_import: MemberImport, rows: list[Row], position: int) -> None:
    """Write one batch in one transaction, retried (with a short, growing, jittered pause)
    when a concurrent join took a member number, phone or external id between our lookup and
    our insert. Member numbers are never allocated with gaps: join_member numbers after the
    newest member by id, so a gap would let later joins climb into a range we hold."""
    for attempt in range(BATCH_ATTEMPTS):
        try:
            with transaction.atomic():
                _write_batch(member_import, rows, position)
            return
        except IntegrityError:
            if attempt == BATCH_ATTEMPTS - 1:
                raise
            for row in rows:  # checked afresh on the next attempt
                row.errors.pop("external_id", None)
            clock.sleep(random.uniform(0.005, 0.02) * (attempt + 1))


def _write_batch(member_import: MemberImport, rows: list[Row], position: int) -> None:
    brand_id = member_import.brand_id
    locked = MemberImport.objects.select_for_update().get(pk=member_import.pk)
    if locked.stage != ImportStage.IMPORTING or locked.rows_done != position:
        raise _Interrupted
    # one writer of member numbers per brand at a time among imports. FOR NO KEY UPDATE does
    # not conflict with the FOR KEY SHARE that inserting a member (FK) takes, so joins in
    # store never wait on (or deadlock with) an import; a join that picks a number we
    # allocated makes one of us retry on the unique constraint
    Brand.objects.select_for_update(no_key=True).filter(pk=brand_id).values_list("pk", flat=True).first()

    # rows the dry run found invalid are skipped; a row that became invalid since is recorded
    flagged = set(
        MemberImportError.objects.filter(
            member_import_id=member_import.pk, row_number__range=(rows[0].number, rows[-1].number)
        )
        .exclude(errors__has_key=NOTE)
        .values_list("row_number", flat=True)
    )
    _external_id_clashes(brand_id, [r for r in rows if r.number not in flagged])
    valid: list[Row] = []
    new_errors: list[MemberImportError] = []
    for row in rows:
        if row.number in flagged:
            continue
        if row.errors:
            new_errors.append(
                MemberImportError(member_import_id=member_import.pk, row_number=row.number, errors=row.errors)
            )
            continue
        valid.append(row)

    hashes = {r.phone_hash for r in valid}
    # locked (in id order) for the batch: a concurrent change to one of these members by
    # update_member or record_consent is neither lost nor based on a stale read
    existing = {
        m.phone_hash: m
        for m in Member.objects.select_for_update().filter(brand_id=brand_id, phone_hash__in=hashes).order_by("pk").only(
            "pk", "brand_id", "phone_hash", "name_encrypted", "external_id", "store_id", "guide_id",
            *CONSENT_COLUMNS,
        )
    }  # fmt: skip
    ctx = audit.current_context()
    actor_id = ctx.user_id or member_import.uploaded_by_id
    actor_label = (
        ctx.actor_label or (member_import.uploaded_by.get_username() if member_import.uploaded_by else "")
    )[:150]

    new: dict[str, Member] = {}
    changed: dict[str, set[str]] = {}  # phone hash of an existing member → fields to update
    consent_changes: list[tuple[str, str, bool]] = []  # existing members: (hash, channel, granted)
    tags_of: dict[str, set[str]] = {}
    created = merged = 0
    taken_external: set[str] = {m.external_id for m in existing.values() if m.external_id}
    for row in valid:
        member = existing.get(row.phone_hash) or new.get(row.phone_hash)
        external_id = row.external_id if row.external_id and row.external_id not in taken_external else ""
        if member is None:
            member = Member(
                brand_id=brand_id,
                external_id=external_id or None,
                source=MemberSource.IMPORT,
                store_id=row.store_id,
                guide_id=row.guide_id,
                joined_at=row.joined_at,
                **{c: row.consents.get(c, False) for c in CONSENT_COLUMNS},
            )
            member.phone_encrypted = row.phone_encrypted or pii.encrypt(row.phone)
            member.phone_hash = row.phone_hash
            member.phone_masked = pii.mask_phone(row.phone)
            member.name_encrypted = row.name_encrypted or pii.encrypt(row.name)
            member.name_masked = pii.mask_name(row.name)
            member.name_hash = pii.name_index(row.name)
            if external_id:
                taken_external.add(external_id)
            new[row.phone_hash] = member
            created += 1
        else:
            merged += 1
            is_new = member.pk is None
            fields = changed.setdefault(row.phone_hash, set()) if not is_new else set()
            if row.name and not member.name_encrypted:
                member.name_encrypted = row.name_encrypted or pii.encrypt(row.name)
                member.name_masked = pii.mask_name(row.name)
                member.name_hash = pii.name_index(row.name)
                fields |= {"name_encrypted", "name_masked", "name_hash"}
            if external_id and not member.external_id:
                member.external_id = external_id
                taken_external.add(external_id)
                fields.add("external_id")
            if row.store_id and not member.store_id:
                member.store_id = row.store_id
                fields.add("store")
            if row.guide_id and not member.guide_id:
                member.guide_id = row.guide_id
                fields.add("guide")
            for column, granted in row.consents.items():
                if getattr(member, column) != granted:
                    setattr(member, column, granted)
                    if not is_new:
                        fields.add(column)
                        consent_changes.append((row.phone_hash, column.removeprefix("consent_"), granted))
        if row.tags:
            tags_of.setdefault(row.phone_hash, set()).update(row.tags)

    if new:
        numbers = _allocate_member_numbers(brand_id, len(new))
        for member, number in zip(new.values(), numbers, strict=True):
            member.member_no = number
        _insert(Member, list(new.values()), with_ids=True)
        if any(m.pk is None for m in new.values()):  # a backend that returns no ids
            ids = dict(
                Member.objects.filter(brand_id=brand_id, phone_hash__in=new.keys()).values_list(
                    "phone_hash", "pk"
                )
            )
            for digest, member in new.items():
                member.pk = ids[digest]
    updates = [m for digest, m in existing.items() if changed.get(digest)]
    if updates:
        update_fields = sorted(set().union(*(changed[m.phone_hash] for m in updates)) | {"updated_at"})
        now = timezone.now()
        for member in updates:
            member.updated_at = now
        Member.objects.bulk_update(updates, update_fields)

    consent_rows = [
        ConsentRecord(
            brand_id=brand_id, member_id=m.pk, channel=channel, granted=True, source=ConsentSource.IMPORT,
            actor_id=actor_id, actor_label=actor_label,
        )
        for m in new.values()
        for channel in ConsentChannel.values
        if getattr(m, f"consent_{channel}")
    ]  # fmt: skip
    consent_rows += [
        ConsentRecord(
            brand_id=brand_id, member_id=existing[digest].pk, channel=channel, granted=granted,
            source=ConsentSource.IMPORT, actor_id=actor_id, actor_label=actor_label,
        )
        for digest, channel, granted in consent_changes
    ]  # fmt: skip
    _insert(ConsentRecord, consent_rows)

    if tags_of:
        names = set().union(*tags_of.values())
        Tag.objects.bulk_create([Tag(brand_id=brand_id, name=n) for n in names], ignore_conflicts=True)
        tag_ids = dict(Tag.objects.filter(brand_id=brand_id, name__in=names).values_list("name", "pk"))
        members = {**existing, **new}
        MemberTag.objects.bulk_create(
            [
                MemberTag(
                    brand_id=brand_id,
                    member_id=members[digest].pk,
                    tag_id=tag_ids[name],
                    source=TagSource.IMPORT,
                )
                for digest, names_ in tags_of.items()
                for name in names_
            ],
            ignore_conflicts=True,
        )
    MemberImportError.objects.bulk_create(new_errors, ignore_conflicts=True)
    MemberImport.objects.filter(pk=member_import.pk).update(
        rows_done=F("rows_done") + len(rows),
        created_count=F("created_count") + created,
        merged_count=F("merged_count") + merged,
        rows_invalid=F("rows_invalid") + len(new_errors),
    )


def _insert(model, objs: list, *, with_ids: bool = False) -> None:
    """Insert new rows: PostgreSQL COPY (ids drawn from the table's identity sequence first
    when the caller needs them), else bulk_create. COPY skips the ORM's per-value compile
    step, which is most of the cost of inserting 100,000 members."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    from psycopg import sql

    meta = model._meta
    now = timezone.now()
    auto_now = [f.attname for f in meta.concrete_fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]  # fmt: skip
    fields = [f for f in meta.concrete_fields if with_ids or not f.primary_key]
    with connection.wrap_database_errors, connection.cursor() as cursor:
        if with_ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(objs)],
            )
            for obj, (pk,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = pk
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(meta.db_table), sql.SQL(", ").join(sql.Identifier(f.column) for f in fields)
        )
        with cursor.cursor.copy(statement) as copy:
            for obj in objs:
                for attname in auto_now:
                    setattr(obj, attname, now)
                copy.write_row([getattr(obj, f.attname) for f in fields])
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def _allocate_member_numbers(brand_id: int, count: int) -> list[str]:
    """`count` consecutive member numbers after the brand's newest (as next_member_no reads
    them); created in order, so the newest id holds the highest number again."""
    first = int(next_member_no(brand_id=brand_id)[1:])
    return [f"M{n:08d}" for n in range(first, first + count)]


def template_csv() -> str:
    """The header row of an import file, with one example row (UTF-8 with BOM for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(TEMPLATE_HEADER)
    writer.writerow(["13800000000", "王小明", "CRM-1", "", "", "2024-01-31", "yes", "yes", "no", "VIP;新客"])
    return "\ufeff" + out.getvalue()


__all__ = [
    "COLUMNS",
    "check_member_import",
    "inspect_upload",
    "run_member_import",
    "start_check",
    "start_import",
    "template_csv",
    "upload_member_import",
]


# --- uploaded files: clear PII on disk is kept no longer than needed -------------------------


def _discard_file(import_id: int) -> None:
    member_import = MemberImport.objects.filter(pk=import_id).first()
    if member_import is None or not member_import.file:
        return
    member_import.file.delete(save=False)  # storage first: a crash leaves a name, not a file
    MemberImport.objects.filter(pk=import_id).update(file="")


def discard_stale_uploads(*, now=None) -> int:
    """Delete the files of imports not finished within MEMBER_IMPORT_FILE_RETENTION_DAYS (an
    upload holds phones and names in clear). Such an import ends as failed; the same file
    may then be uploaded again. Finished imports dropped their file when they finished."""
    days = getattr(settings, "MEMBER_IMPORT_FILE_RETENTION_DAYS", 7)
    cutoff = (now or timezone.now()) - timezone.timedelta(days=days)
    stale = (
        MemberImport.objects.filter(created_at__lt=cutoff).exclude(file="").exclude(stage=ImportStage.DONE)
    )
    count = 0
    for import_id in stale.values_list("pk", flat=True):
        with transaction.atomic():
            member_import = MemberImport.objects.select_for_update().get(pk=import_id)
            if member_import.stage == ImportStage.DONE or not member_import.file:
                continue
            member_import.stage = ImportStage.FAILED
            member_import.error = _(
                "The uploaded file was deleted after %(days)s days without finishing the import; "
                "upload it again to continue."
            ) % {"days": days}
            member_import.save(update_fields=["stage", "error"])
            transaction.on_commit(lambda pk=import_id: _discard_file(pk))
        count += 1
    return count
