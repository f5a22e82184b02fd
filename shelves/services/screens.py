"""Screens in stores: creating one (with its kiosk token, its public scan code and its
device in the registry), assigning catalogs and the zone guide, retiring it, rotating its
kiosk token. Each change is audited, publishes `shelf.screen_changed` and pushes a refresh
to the screen's open kiosk page. Who may call them is the caller's check:
`may_manage_screens` (HQ any store of the brand, store managers their stores)."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from devices.choices import DeviceKind
from devices.selectors import registry as device_selectors
from devices.services import registry as device_services
from retail import audit, events
from retail import selectors as retail_selectors
from retail.choices import AuditAction, Role
from retail.errors import Conflict, InvalidInput
from retail.models import Store
from retail.tenancy import Principal

from .. import push
from ..choices import ScreenStatus
from ..models import Catalog, Screen

DEVICE_TYPE_CODE = "cloud-shelf-screen"
HEARTBEAT_SECONDS = 60
SCAN_CODE_LENGTH = 8
# letters and digits only ('-' separates the product in QR codes); no 0/O, 1/I/L to misread
SCAN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CATALOG_FIELDS = ("day_catalog", "night_catalog", "double11_catalog")
EDITABLE = frozenset({"name", "zone", "guide", "rotate_seconds", *CATALOG_FIELDS})
_UNSET: Any = object()


def may_manage_screens(principal: Principal, store_id: int | None = None) -> bool:
    """HQ manages the screens of every store of the brand, store managers those of their
    stores (`store_id` given: that store); guides only look."""
    if principal.is_superuser:
        return True
    if principal.brand_id is None or principal.role not in (Role.HQ_ADMIN, Role.STORE_MANAGER):
        return False
    return store_id is None or principal.may_see_store(store_id)


def kiosk_path(token: str) -> str:
    """The kiosk page of a screen (a capability URL: whoever has it sees the screen)."""
    return f"/shelf/{token}/"


def new_token() -> str:
    return secrets.token_urlsafe(24)


def new_scan_code() -> str:
    return "".join(secrets.choice(SCAN_CODE_ALPHABET) for _ in range(SCAN_CODE_LENGTH))


def _brand_principal(brand_id: int) -> Principal:
    # the brand as a whole (the screen's store may be any of its stores)
    return Principal(kind="user", brand_id=brand_id)


def _device_type(brand_id: int):
    """The brand's in-house device type for shelf screens, defined on first use."""
    found = device_selectors.device_types_for(principal=_brand_principal(brand_id)).filter(
        code=DEVICE_TYPE_CODE
    )
    device_type = found.first()
    if device_type is not None:
        return device_type
    try:
        return device_services.define_device_type(
            brand_id=brand_id,
            code=DEVICE_TYPE_CODE,
            name=_("Cloud-shelf screen"),
            kind=DeviceKind.SHELF_SCREEN,
            partner=None,
            heartbeat_interval_seconds=HEARTBEAT_SECONDS,
        )
    except IntegrityError:  # defined by a concurrent first screen of the brand
        return found.get()


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("invalid", _("A screen needs a name."), fields={"name": [_("Required.")]})
    if len(name) > 100:
        raise InvalidInput(
            "invalid", _("The name is too long."), fields={"name": [_("At most 100 characters.")]}
        )
    return name


def _check_assignment(*, brand_id: int, store: Store, values: dict[str, Any]) -> None:
    """The guide works in the screen's store; catalogs are the brand's and not archived;
    at least 2 seconds per card."""
    errors: dict[str, list[str]] = {}
    guide = values.get("guide")
    if guide is not None:
        is_guide = (
            retail_selectors.staff_for_store(principal=_brand_principal(brand_id), store=store)
            .filter(role=Role.GUIDE, user_id=guide.pk)
            .exists()
        )
        if not is_guide:
            errors["guide"] = [_("Choose a guide of the screen's store.")]
    for field in CATALOG_FIELDS:
        catalog = values.get(field)
        if catalog is None:
            continue
        if not isinstance(catalog, Catalog) or catalog.brand_id != brand_id:
            errors[field] = [_("Unknown catalog.")]
        elif catalog.is_archived:
            errors[field] = [_("The catalog is archived.")]
    if "rotate_seconds" in values:
        seconds = values["rotate_seconds"]
        if not isinstance(seconds, int) or not 2 <= seconds <= 300:
            errors["rotate_seconds"] = [_("Between 2 and 300 seconds.")]
    if "zone" in values and len(values["zone"] or "") > 100:
        errors["zone"] = [_("At most 100 characters.")]
    if errors:
        raise InvalidInput("invalid", _("The screen has invalid fields."), fields=errors)


def _duplicate_name() -> Conflict:
    return Conflict(
        "duplicate_name",
        _("The store already has a screen with this name."),
        fields={"name": [_("Already taken in this store.")]},
    )


def _publish(screen: Screen, change: str) -> None:
    events.publish(
        "shelf.screen_changed", brand=screen.brand_id, store=screen.store_id, screen=screen.pk, change=change
    )
    push.notify_screens([screen.pk], reason="screen")


def create_screen(
    *,
    store: Store,
    name: str,
    zone: str = "",
    guide=None,
    day_catalog: Catalog | None = None,
    night_catalog: Catalog | None = None,
    double11_catalog: Catalog | None = None,
    rotate_seconds: int = 8,
) -> Screen:
    """A new screen in the store with a fresh kiosk token and scan code, registered as a
    device of the brand's "cloud-shelf-screen" type (serial SHELF-<scan code>). Audited;
    publishes `shelf.screen_changed` (created)."""
    name = _check_name(name)
    zone = (zone or "").strip()
    values = {
        "guide": guide,
        "day_catalog": day_catalog,
        "night_catalog": night_catalog,
        "double11_catalog": double11_catalog,
        "rotate_seconds": rotate_seconds,
        "zone": zone,
    }
    _check_assignment(brand_id=store.brand_id, store=store, values=values)
    with transaction.atomic():
        if Screen.objects.filter(store=store, name=name).exists():
            raise _duplicate_name()
        device_type = _device_type(store.brand_id)
        for _attempt in range(8):
            code = new_scan_code()
            if Screen.objects.filter(scan_code=code).exists():
                continue
            try:
                with transaction.atomic():
                    device, _credential = device_services.register_device(
                        store=store, device_type=device_type, serial=f"SHELF-{code}", name=name
                    )
                    screen = Screen.objects.create(
                        brand_id=store.brand_id,
                        store=store,
                        name=name,
                        device=device,
                        token=new_token(),
                        scan_code=code,
                        **values,
                    )
            except (IntegrityError, Conflict):
                if Screen.objects.filter(store=store, name=name).exists():
                    raise _duplicate_name() from None
                continue  # the scan code (or its device serial) was taken meanwhile: draw again
            break
        else:  # pragma: no cover - 31^8 codes
            raise Conflict("no_scan_code", _("Could not draw a free scan code; try again."))
        audit.record(AuditAction.CREATE, screen, after=_public_snapshot(screen))
        _publish(screen, "created")
    return screen


def _public_snapshot(screen: Screen) -> dict:
    data = audit.snapshot(screen)
    data.pop("token", None)  # a capability secret stays out of the audit trail
    return data


def update_screen(*, screen: Screen, **changes: Any) -> Screen:
    """Change a screen's name, zone, zone guide, seconds per card or its day / night /
    Double-11 catalogs (None clears one). Audited; publishes `shelf.screen_changed`
    (assigned) and pushes to the screen."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise InvalidInput(
            "invalid", _("Unknown field."), fields={k: [_("Unknown field.")] for k in sorted(unknown)}
        )
    if "name" in changes:
        changes["name"] = _check_name(changes["name"])
    if "zone" in changes:
        changes["zone"] = (changes["zone"] or "").strip()
    try:
        with transaction.atomic():
            locked = Screen.objects.select_for_update().select_related("store").get(pk=screen.pk)
            if locked.status == ScreenStatus.RETIRED:
                raise Conflict("retired", _("The screen is retired; it can no longer be changed."))
            _check_assignment(brand_id=locked.brand_id, store=locked.store, values=changes)
            before = _public_snapshot(locked)
            for key, value in changes.items():
                setattr(locked, key, value)
            locked.save()
            after = _public_snapshot(locked)
            if {k: v for k, v in after.items() if k != "updated_at"} != {
                k: v for k, v in before.items() if k != "updated_at"
            }:
                audit.record(AuditAction.UPDATE, locked, before=before, after=after)
                _publish(locked, "assigned")
    except IntegrityError as exc:
        raise _duplicate_name() from exc
    return locked


def retire_screen(*, screen: Screen) -> Screen:
    """Take a screen out of service for good: its kiosk page shows "screen retired", its
    QR codes stop, its device is retired. A repeat is a no-op."""
    with transaction.atomic():
        locked = Screen.objects.select_for_update().get(pk=screen.pk)
        if locked.status == ScreenStatus.RETIRED:
            return locked
        before = _public_snapshot(locked)
        locked.status = ScreenStatus.RETIRED
        locked.retired_at = timezone.now()
        locked.save(update_fields=["status", "retired_at", "updated_at"])
        if locked.device_id:
            device_services.retire_device(device=locked.device)
        audit.record(
            AuditAction.UPDATE,
            locked,
            before=before,
            after=_public_snapshot(locked),
            message="screen retired",
        )
        _publish(locked, "retired")
        # the cached lookups by kiosk token and by scan code go at once (not in ≤ 60 s)
        token, scan_code = locked.token, locked.scan_code
        transaction.on_commit(lambda: _forget(token=token, scan_code=scan_code))
    return locked


def _forget(*, token: str, scan_code: str) -> None:
    from ..selectors.kiosk import forget_screen as forget_kiosk
    from .scans import forget_screen as forget_scans

    forget_kiosk(token)
    if scan_code:
        forget_scans(scan_code=scan_code)


def rotate_screen_token(*, screen: Screen) -> Screen:
    """Give the screen a new kiosk URL; the old one stops working at once (the open page is
    told to refresh and finds its token gone). Audited as a permission change."""
    with transaction.atomic():
        locked = Screen.objects.select_for_update().get(pk=screen.pk)
        if locked.status == ScreenStatus.RETIRED:
            raise Conflict("retired", _("A retired screen gets no new kiosk URL."))
        old_token = locked.token
        transaction.on_commit(lambda: _forget(token=old_token, scan_code=""))
        locked.token = new_token()
        locked.save(update_fields=["token", "updated_at"])
        audit.record(AuditAction.PERMISSION, locked, message="kiosk token rotated")
        events.publish(
            "shelf.screen_changed",
            brand=locked.brand_id,
            store=locked.store_id,
            screen=locked.pk,
            change="token_rotated",
        )
        # the page still open with the old token must learn it lost its URL
        push.notify_screens([locked.pk], reason="token")
    return locked
