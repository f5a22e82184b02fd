"""Django admin for the platform operator (superuser): every core model, fit for big tables.

Two rules hold for every ModelAdmin here:

- Big tables: no COUNT(*) over the whole table (`EstimatedCountPaginator`,
  `show_full_result_count = False`), foreign keys as raw ids or autocompletes (never a
  <select> of a million rows), search on exact, indexed values (SKU, external id, code),
  list filters only on small choice sets, no date_hierarchy.
- Writes: through the service where one exists (`create_store`, `update_product`,
  `grant_role`, `issue_api_token`, ...), so admin edits are audited and emit the same events
  as any other; where no service exists, `AuditedAdmin` records an AuditEvent itself.
  Append-only logs (audit trail, outbox, idempotency records) are read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import connections, transaction
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import audit, events, services
from .choices import API_SCOPES, AuditAction
from .models import (
    ApiClient,
    ApiToken,
    AuditEvent,
    Brand,
    DomainEvent,
    IdempotencyRecord,
    Order,
    OrderLine,
    Product,
    StaffRole,
    Store,
    StoreStock,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)

# --- big tables -----------------------------------------------------------------------------------


class EstimatedCountPaginator(Paginator):
    """Counts rows exactly only where that is cheap.

    On PostgreSQL an unfiltered list takes the table's row estimate from pg_class.reltuples,
    and a filtered one the planner's estimate; either is used only when it says the table is
    big (`exact_below`), so small tables and narrow filters still show exact counts. SQLite
    always counts. An estimate may overshoot: a page past the real end is then just empty.
    """

    exact_below = 100_000

    @cached_property
    def count(self) -> int:
        estimate = estimated_count(self.object_list)
        if estimate is not None and estimate >= self.exact_below:
            self.is_estimate = True
            return estimate
        self.is_estimate = False
        return super().count

    def validate_number(self, number):
        if not self.count or not getattr(self, "is_estimate", False):
            return super().validate_number(number)
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise PageNotAnInteger(_("That page number is not an integer"))
        if number < 1:
            raise EmptyPage(_("That page number is less than 1"))
        return number


def estimated_count(queryset) -> int | None:
    """The planner's idea of how many rows a queryset has (PostgreSQL), or None."""
    connection = connections[queryset.db]
    if connection.vendor != "postgresql":
        return None
    query = queryset.query
    if query.is_sliced or query.distinct or query.combinator:
        return None
    with connection.cursor() as cursor:
        if not query.where:
            table = connection.ops.quote_name(queryset.model._meta.db_table)
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)", [table])
            row = cursor.fetchone()
            return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None
        sql, params = queryset.order_by().values("pk").query.sql_with_params()
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
        if isinstance(plan, str):
            import json

            plan = json.loads(plan)
        return int(plan[0]["Plan"]["Plan Rows"])


class LargeTableAdmin(admin.ModelAdmin):
    """The defaults every changelist here shares, big table or not (one way)."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50


# --- writes -------------------------------------------------------------------------------------


class AuditedAdmin(LargeTableAdmin):
    """For models without a service: every admin save and delete writes an AuditEvent."""

    audit_action_on_change = AuditAction.UPDATE

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change else None
            super().save_model(request, obj, form, change)
            audit.record(
                self.audit_action_on_change if change else AuditAction.CREATE,
                obj,
                before=before,
                after=audit.snapshot(obj),
                message="admin",
            )

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit.record(AuditAction.DELETE, obj, before=audit.snapshot(obj), message="admin")
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyAdmin(LargeTableAdmin):
    """Append-only logs: browse and search, never add, change or delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def adopt(obj, created) -> None:
    """Make the admin's unsaved `obj` the row a service just created (the admin redirects
    and logs with `obj`)."""
    obj.__dict__.update(created.__dict__)


class UniquePerBrandForm(forms.ModelForm):
    """Checks codes unique per brand also when the brand is read-only (on change), so a
    duplicate is a form error rather than a refused service call."""

    unique_per_brand: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        if "brand" in self.fields or not self.instance.brand_id:
            return cleaned  # the brand is in the form: the model's constraints check it
        brand = self.instance.brand
        model = self._meta.model
        for name in self.unique_per_brand:
            value = cleaned.get(name)
            if value in (None, ""):
                continue
            clash = model.objects.filter(brand=brand, **{name: value}).exclude(pk=self.instance.pk)
            if clash.exists():
                self.add_error(name, _("Already used in this brand."))
        return cleaned


class ServiceBackedMixin:
    """Admin writes go through the domain's create/update services (audit, events,
    invariants): a subclass names the service's fields and the two calls."""

    service_fields: tuple[str, ...] = ()

    def create_through_service(self, obj, fields: dict):
        raise NotImplementedError

    def update_through_service(self, obj, fields: dict) -> None:
        raise NotImplementedError

    def save_model(self, request, obj, form, change):
        if change:
            fields = {f: form.cleaned_data[f] for f in form.changed_data if f in self.service_fields}
            self.update_through_service(obj, fields)
            obj.refresh_from_db()
        else:
            adopt(obj, self.create_through_service(obj, {f: getattr(obj, f) for f in self.service_fields}))


class BrandBoundAdmin(LargeTableAdmin):
    """A row's brand is chosen once: moving rows between tenants is not an edit."""

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "brand"] if obj is not None else fields


class ReadOnlyLedgerAdmin(BrandBoundAdmin):
    """History rows: written by services only, never edited or deleted here."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- brands, stores, staff ------------------------------------------------------------------------


@admin.register(Brand)
class BrandAdmin(AuditedAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "=slug"]
    readonly_fields = ["created_at"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        adopt(obj, services.create_brand(name=obj.name, slug=obj.slug))


class StoreForm(UniquePerBrandForm):
    unique_per_brand = ("code",)

    class Meta:
        model = Store
        fields = ["brand", "code", "name", "city", "address", "latitude", "longitude", "status"]


@admin.register(Store)
class StoreAdmin(ServiceBackedMixin, BrandBoundAdmin, AuditedAdmin):
    form = StoreForm
    list_display = ["code", "name", "brand", "city", "status", "updated_at"]
    list_select_related = ["brand"]
    list_filter = ["status", "brand"]
    search_fields = ["=code", "=brand__slug"]
    search_help_text = _("Exact store code or brand slug.")
    autocomplete_fields = ["brand"]
    readonly_fields = ["created_at", "updated_at"]

    service_fields = services.STORE_FIELDS

    def create_through_service(self, obj, fields):
        return services.create_store(brand=obj.brand, **fields)

    def update_through_service(self, obj, fields):
        services.update_store(store=obj, **fields)


@admin.register(StaffRole)
class StaffRoleAdmin(LargeTableAdmin):
    """Roles are granted and revoked (both audited as permission changes), never edited."""

    list_display = ["user", "role", "brand", "store", "created_at"]
    list_select_related = ["user", "brand", "store"]
    list_filter = ["role"]
    search_fields = ["=user__username", "=store__code"]
    search_help_text = _("Exact username or store code.")
    autocomplete_fields = ["brand"]
    raw_id_fields = ["user", "store"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        role = services.grant_role(user=obj.user, brand=obj.brand, role=obj.role, store=obj.store)
        adopt(obj, role)

    def delete_model(self, request, obj):
        services.revoke_role(staff_role=obj)

    def delete_queryset(self, request, queryset):
        for role in queryset:
            services.revoke_role(staff_role=role)


# --- catalog and sales ledger ------------------------------------------------------------------------


class ProductForm(UniquePerBrandForm):
    unique_per_brand = ("sku",)

    class Meta:
        model = Product
        fields = ["brand", "sku", "name", "category", "price", "online_stock", "image_url", "is_active"]


@admin.register(Product)
class ProductAdmin(ServiceBackedMixin, BrandBoundAdmin, AuditedAdmin):
    form = ProductForm
    list_display = ["sku", "name", "brand", "category", "price", "online_stock", "is_active"]
    list_select_related = ["brand"]
    list_filter = ["is_active", "brand"]
    search_fields = ["=sku"]
    search_help_text = _("Exact SKU.")
    autocomplete_fields = ["brand"]
    readonly_fields = ["created_at", "updated_at"]

    service_fields = services.PRODUCT_FIELDS

    def create_through_service(self, obj, fields):
        return services.create_product(brand=obj.brand, **fields)

    def update_through_service(self, obj, fields):
        services.update_product(product=obj, **fields)


class OrderLineInline(admin.TabularInline):
    """Lines are history (SKU and name copied at sale time): shown, never edited."""

    model = OrderLine
    fields = ["product", "sku", "name", "quantity", "unit_price", "line_total"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(ReadOnlyLedgerAdmin):
    """Managed through the API and the partner console (retail.webhooks: secrets, audit)."""

    list_display = ["url", "brand", "client", "is_active", "paused_at", "consecutive_failures"]
    list_filter = ["is_active"]
    exclude = ["secret", "previous_secret"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "id",
        "event_name",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
    ]
    list_filter = ["status"]


@admin.register(WebhookAttempt)
class WebhookAttemptAdmin(ReadOnlyLedgerAdmin):
    list_display = ["delivery", "attempted_at", "status_code", "duration_ms", "error"]


@admin.register(StoreStock)
class StoreStockAdmin(ReadOnlyLedgerAdmin):
    """Pushed by the brand's ERP / POS (retail.services.set_store_stock)."""

    list_display = ["store", "product", "quantity", "updated_at"]


@admin.register(Order)
class OrderAdmin(AuditedAdmin):
    """The ledger is written by `record_order` (API, POS); the operator corrects the status."""

    list_display = ["external_id", "brand", "channel", "status", "store", "total", "paid_at"]
    list_select_related = ["brand", "store"]
    list_filter = ["channel", "status", "brand"]
    search_fields = ["=external_id"]
    search_help_text = _("Exact external id.")
    raw_id_fields = ["store", "member", "guide"]
    readonly_fields = [
        "brand",
        "external_id",
        "channel",
        "store",
        "member",
        "guide",
        "subtotal",
        "discount_total",
        "total",
        "paid_at",
        "created_at",
    ]
    inlines = [OrderLineInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- audit, partner API, outbox ----------------------------------------------------------------------


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "action", "object_type", "object_id", "object_repr", "actor_label", "brand"]
    list_select_related = ["brand"]
    list_filter = ["action"]
    search_fields = ["=request_id"]
    search_help_text = _("A request id, or app_label.model:id for one object's history.")
    raw_id_fields = ["brand", "actor"]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        object_type, sep, object_id = term.partition(":")
        if sep and "." in object_type and object_id:
            # (object_type, object_id, created_at) is indexed: one object's history.
            return queryset.filter(object_type=object_type.lower(), object_id=object_id), False
        return super().get_search_results(request, queryset, search_term)


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(k, f"{k} — {v}") for k, v in sorted(API_SCOPES.items())],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = ApiClient
        fields = ["brand", "name", "scopes", "rate_limit_per_minute", "is_active"]


class ApiTokenInline(admin.TabularInline):
    """Only prefixes and hashes are stored; issue and revoke with the actions above the list."""

    model = ApiToken
    fields = ["prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ApiClient)
class ApiClientAdmin(BrandBoundAdmin, AuditedAdmin):
    form = ApiClientForm
    list_display = ["name", "brand", "scope_list", "rate_limit_per_minute", "is_active", "created_at"]
    list_select_related = ["brand"]
    list_filter = ["is_active"]
    search_fields = ["name", "=brand__slug"]
    autocomplete_fields = ["brand"]
    inlines = [ApiTokenInline]
    actions = ["issue_token", "revoke_tokens"]
    audit_action_on_change = AuditAction.PERMISSION

    @admin.display(description=_("scopes"))
    def scope_list(self, obj) -> str:
        return ", ".join(obj.scopes or [])

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        client = services.create_api_client(
            brand=obj.brand,
            name=obj.name,
            scopes=obj.scopes or [],
            rate_limit_per_minute=obj.rate_limit_per_minute,
        )
        if not obj.is_active:
            client.is_active = False
            client.save(update_fields=["is_active"])
        adopt(obj, client)

    @admin.action(description=_("Issue a new token (shown once)"))
    def issue_token(self, request, queryset):
        for client in queryset.select_related("brand"):
            _token, raw = services.issue_api_token(client=client)
            messages.warning(
                request,
                format_html(
                    "{}: <code>{}</code> — {}",
                    client,
                    raw,
                    _("copy it now; it is not stored and will not be shown again."),
                ),
            )

    @admin.action(description=_("Revoke every active token"))
    def revoke_tokens(self, request, queryset):
        _revoke_tokens(request, ApiToken.objects.filter(client__in=queryset))


def _revoke_tokens(request, tokens) -> None:
    """Revoke the still-active tokens among `tokens` through the service (audited)."""
    active = tokens.filter(revoked_at__isnull=True).select_related("client")
    revoked = [services.revoke_api_token(token=t) for t in active]
    messages.success(
        request,
        ngettext("%(n)d token revoked.", "%(n)d tokens revoked.", len(revoked)) % {"n": len(revoked)},
    )


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "client", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_select_related = ["client", "client__brand"]
    search_fields = ["=prefix"]
    search_help_text = _("Exact token prefix (the part after tdk_).")
    raw_id_fields = ["client"]
    actions = ["revoke"]

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request, queryset):
        _revoke_tokens(request, queryset)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["key", "client", "method", "path", "status_code", "created_at"]
    list_select_related = ["client", "client__brand"]
    search_fields = ["=key"]
    search_help_text = _("Exact Idempotency-Key.")
    raw_id_fields = ["client"]


class EventNameFilter(admin.SimpleListFilter):
    """Event names from the catalogue, not a DISTINCT over the outbox."""

    title = _("event")
    parameter_name = "name"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted(events.CATALOGUE)]

    def queryset(self, request, queryset):
        return queryset.filter(name=self.value()) if self.value() else queryset


@admin.register(DomainEvent)
class DomainEventAdmin(ReadOnlyAdmin):
    list_display = ["name", "brand", "store_id", "occurred_at"]
    list_select_related = ["brand"]
    list_filter = [EventNameFilter, "brand"]
    raw_id_fields = ["brand"]


# --- the partner-API request log (retail.requestlog) -----------------------------------------------

from .models import ApiRequestLog  # noqa: E402  (appended with the request log)


@admin.register(ApiRequestLog)
class ApiRequestLogAdmin(ReadOnlyLedgerAdmin):
    """Written in batches by the API itself; purged after API_REQUEST_LOG_DAYS."""

    list_display = ["at", "client", "method", "route", "status_code", "duration_ms", "request_id"]
    list_select_related = ["client", "client__brand"]
    list_filter = ["method"]
    search_fields = ["=request_id", "=token_prefix"]
    search_help_text = _("Exact request id or token prefix.")
    raw_id_fields = ["brand", "client"]


# --- live dashboards (retail/dashboards/): rollups written by the event fold only -----------------

from .dashboards.models import (  # noqa: E402
    CampaignLive,
    DashboardSeq,
    DeviceLiveStatus,
    FoldedEvent,
    GuideDay,
    IncidentLive,
    StoreDay,
    StoreMinute,
)


@admin.register(StoreMinute)
class StoreMinuteAdmin(ReadOnlyLedgerAdmin):
    list_display = ["minute", "brand", "store", "orders", "gmv", "items", "scans", "last_event_id"]
    list_select_related = ["brand", "store"]
    raw_id_fields = ["brand", "store"]


@admin.register(StoreDay)
class StoreDayAdmin(ReadOnlyLedgerAdmin):
    list_display = ["day", "brand", "store", "orders", "gmv", "items", "scans", "last_event_id"]
    list_select_related = ["brand", "store"]
    raw_id_fields = ["brand", "store"]


@admin.register(GuideDay)
class GuideDayAdmin(ReadOnlyLedgerAdmin):
    list_display = ["day", "brand", "store", "guide", "orders", "gmv"]
    list_select_related = ["brand", "store", "guide"]
    raw_id_fields = ["brand", "store", "guide"]


@admin.register(FoldedEvent)
class FoldedEventAdmin(ReadOnlyLedgerAdmin):
    list_display = ["event_id", "brand", "folded_at"]
    list_select_related = ["brand"]
    raw_id_fields = ["brand"]


@admin.register(DashboardSeq)
class DashboardSeqAdmin(ReadOnlyLedgerAdmin):
    list_display = ["brand", "key", "seq"]
    list_select_related = ["brand"]
    raw_id_fields = ["brand"]


@admin.register(DeviceLiveStatus)
class DeviceLiveStatusAdmin(ReadOnlyLedgerAdmin):
    list_display = ["device_id", "brand", "store", "online", "changed_at"]
    list_select_related = ["brand", "store"]
    list_filter = ["online"]
    raw_id_fields = ["brand", "store"]


@admin.register(CampaignLive)
class CampaignLiveAdmin(ReadOnlyLedgerAdmin):
    list_display = ["name", "brand", "phase", "next_phase", "next_at"]
    list_select_related = ["brand"]
    raw_id_fields = ["brand"]


@admin.register(IncidentLive)
class IncidentLiveAdmin(ReadOnlyLedgerAdmin):
    list_display = ["title", "brand", "store", "severity", "status", "opened_at"]
    list_select_related = ["brand", "store"]
    raw_id_fields = ["brand", "store"]


# --- store onboarding and spaces (retail/onboarding/, retail/spaces/): written by services ------

from .onboarding.models import OnboardingImport, OnboardingStep, StoreOnboarding  # noqa: E402
from .spaces.models import Space, SpaceBooking, SpaceRule, SpaceUse  # noqa: E402

for _model in (StoreOnboarding, OnboardingStep, OnboardingImport, Space, SpaceUse, SpaceRule, SpaceBooking):
    admin.site.register(_model, ReadOnlyLedgerAdmin)


# --- staff notifications (retail/notifications.py): written by notify() only ----------------------

from .models import StaffNotification  # noqa: E402


@admin.register(StaffNotification)
class StaffNotificationAdmin(ReadOnlyLedgerAdmin):
    list_display = ["created_at", "brand", "recipient", "kind", "message", "read_at", "resolved_at"]
    list_select_related = ["brand", "recipient"]
    list_filter = ["kind"]
    raw_id_fields = ["brand", "store", "recipient"]


# --- partner users (retail.console): added and removed on the partner console, audited there ------

from .models import PartnerUser  # noqa: E402


@admin.register(PartnerUser)
class PartnerUserAdmin(ReadOnlyLedgerAdmin):
    list_display = ["user", "client", "access", "created_at"]
    list_select_related = ["user", "client", "client__brand"]
    list_filter = ["access"]
    raw_id_fields = ["brand", "client", "user"]
