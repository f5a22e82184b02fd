"""Forms of the segment builder and rule tags: a name / channel / match form plus condition
rows posted as `c-<n>-field`, `c-<n>-op`, `c-<n>-ids`, `c-<n>-low`, `c-<n>-high`,
`c-<n>-number`, `c-<n>-flag` (n from 0 to `c-count` - 1). Rows are turned into the rule
language (members.rules), which validates them strictly; its problems are shown per row."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from retail import selectors as retail_selectors
from retail.models import StaffRole
from retail.tenancy import Principal

from . import rules as rule_language
from .choices import ConsentChannel
from .models import Tag, Tier

MAX_ROWS = rule_language.MAX_CONDITIONS


class SegmentForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=80, required=False)
    channel = forms.ChoiceField(
        label=gettext_lazy("For channel"),
        required=False,
        choices=[("", gettext_lazy("Any (no contact)")), *ConsentChannel.choices],
        help_text=gettext_lazy("Only members who consent on this channel are ever in the segment."),
    )
    match = forms.ChoiceField(
        label=gettext_lazy("Members matching"),
        choices=[("all", gettext_lazy("all conditions")), ("any", gettext_lazy("any condition"))],
        required=False,
    )


class TagForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Tag name"), max_length=40, required=False)
    match = SegmentForm.base_fields["match"]


@dataclass
class Row:
    """One condition row as posted (raw strings), with what the page needs to render it."""

    field: str = "tier"
    op: str = ""
    ids: list[str] = dc_field(default_factory=list)
    low: str = ""
    high: str = ""
    number: str = ""
    flag: str = "true"
    errors: list[str] = dc_field(default_factory=list)
    options: list[tuple[int, str, bool]] = dc_field(default_factory=list)  # id, label, checked

    def __post_init__(self):
        spec = rule_language.FIELDS.get(self.field)
        if spec is None:
            self.field, spec = "tier", rule_language.FIELDS["tier"]
        if self.op not in spec.ops:
            self.op = spec.ops[0]

    @property
    def spec(self) -> rule_language.Field:
        return rule_language.FIELDS[self.field]

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def ops(self) -> list[tuple[str, Any]]:
        return [(op, rule_language.OP_LABELS[op]) for op in self.spec.ops]


def _int_or_raw(text: str) -> Any:
    text = (text or "").strip()
    try:
        return int(text)
    except ValueError:
        return text


def _number(text: str, kind: str) -> Any:
    text = (text or "").strip()
    if kind == "money":
        try:
            Decimal(text)
            return text
        except InvalidOperation:
            return text or None
    return _int_or_raw(text) if text else None


def rows_from_post(data) -> list[Row]:
    """The rows as posted; an unreadable count is no rows."""
    try:
        count = max(0, min(int(data.get("c-count", 0)), MAX_ROWS))
    except (TypeError, ValueError):
        count = 0
    rows = []
    for n in range(count):
        p = f"c-{n}-"
        rows.append(
            Row(
                field=str(data.get(p + "field", "tier")),
                op=str(data.get(p + "op", "")),
                ids=[str(v) for v in data.getlist(p + "ids")][: rule_language.MAX_IDS],
                low=str(data.get(p + "low", "")),
                high=str(data.get(p + "high", "")),
                number=str(data.get(p + "number", "")),
                flag=str(data.get(p + "flag", "true")),
            )
        )
    return rows


def rows_to_rules(rows: list[Row], match: str) -> dict:
    """The rule language for the rows (validated by members.rules, not here)."""
    conditions = []
    for row in rows:
        kind = row.kind
        if kind in ("ids", "tags"):
            value: Any = [_int_or_raw(v) for v in row.ids if v]
        elif kind == "score":
            value = [_int_or_raw(row.low or "1"), _int_or_raw(row.high or "5")]
        elif kind == "flag":
            value = row.flag != "false"
        else:
            value = _number(row.number, kind)
        conditions.append({"field": row.field, "op": row.op, "value": value})
    return {"match": match if match in ("all", "any") else "all", "conditions": conditions}


def rows_from_rules(rules: dict) -> list[Row]:
    """Rows showing saved rules (for the edit page)."""
    rows = []
    for cond in (rules or {}).get("conditions", []):
        value = cond.get("value")
        row = Row(field=cond.get("field", "tier"), op=cond.get("op", ""))
        if row.kind in ("ids", "tags"):
            row.ids = [str(v) for v in value or []]
        elif row.kind == "score":
            row.low, row.high = (str(v) for v in (value or [1, 5]))
        elif row.kind == "flag":
            row.flag = "true" if value else "false"
        else:
            row.number = "" if value is None else str(value)
        rows.append(row)
    return rows


def attach_errors(rows: list[Row], error: rule_language.RuleError) -> list[str]:
    """Put each problem on its row; the general ones are returned."""
    for i, row in enumerate(rows):
        row.errors = error.for_condition(i)
    return error.general


def choices_for(principal: Principal) -> dict[str, list[tuple[int, str]]]:
    """Id choices per field, the brand's own (a store manager's stores only)."""
    brand_id = principal.brand_id
    stores = retail_selectors.stores_for(principal=principal).order_by("code")
    guide_roles = StaffRole.objects.for_principal(principal).filter(role="guide").values("user_id")
    guides = get_user_model().objects.filter(pk__in=guide_roles).order_by("username")
    return {
        "tier": [(t.pk, t.name) for t in Tier.objects.filter(brand_id=brand_id).order_by("rank")],
        "tags": [(t.pk, t.name) for t in Tag.objects.filter(brand_id=brand_id).order_by("name")],
        "store": [(s.pk, f"{s.code} {s.name}") for s in stores],
        "guide": [(u.pk, u.get_full_name() or u.get_username()) for u in guides],
    }


@dataclass
class Builder:
    """Everything the conditions partial renders."""

    rows: list[Row]
    choices: dict[str, list[tuple[int, str]]]
    general_errors: list[str] = dc_field(default_factory=list)

    def __post_init__(self):
        for row in self.rows:
            chosen = set(row.ids)
            row.options = [(pk, label, str(pk) in chosen) for pk, label in self.choices.get(row.field, [])]

    @property
    def fields(self) -> list[tuple[str, Any]]:
        return [(f.name, f.label) for f in rule_language.FIELDS.values()]

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def full(self) -> bool:
        return len(self.rows) >= MAX_ROWS


def edit_rows(rows: list[Row], data) -> list[Row]:
    """Apply an "add" or "remove" button of the builder to the rows."""
    if "add" in data and len(rows) < MAX_ROWS:
        rows.append(Row(field=str(data.get("add_field") or "tier")))
    if "remove" in data:
        try:
            rows.pop(int(data["remove"]))
        except (ValueError, IndexError):
            pass
    return rows


def no_rules_message() -> str:
    return _("No conditions: every member you can see.")
