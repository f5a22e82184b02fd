"""The rule language of segments and rule tags, and its compiler to a Django Q on Member.

A rule set is JSON:

    {"match": "all" | "any",
     "conditions": [{"field": "r_score", "op": "between", "value": [4, 5]}, ...]}

`validate_rules()` checks it strictly (unknown field or operator, a wrong type, an id of
another brand are a `RuleError`, a 400 with a message per condition, never a 500) and returns
the normalised rules; `compile_rules()` turns validated rules into a Q over Member. No
conditions means every member of the brand.

Fields and their operators (ids are the brand's own):

    tier                      in [tier ids]
    tags                      any_of / all_of / none_of [tag ids]
    r_score, f_score, m_score between [min, max] (1–5)
    days_since_last_purchase  lte / gte days      (members who have bought)
    total_spend               lte / gte CNY       (profile monetary)
    lifetime_value            lte / gte CNY
    store, guide              in [store ids] / [guide user ids]
    consent_call / _sms / _chat  is true / false
    points_balance            lte / gte points

`<=` and `>=` are accepted for `lte` and `gte`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from retail.errors import InvalidInput

MAX_CONDITIONS = 20
MAX_IDS = 500
MAX_NUMBER = Decimal("1000000000000")


@dataclass(frozen=True)
class Field:
    name: str
    label: Any  # lazy translation
    kind: str  # ids | tags | score | days | money | flag | points
    ops: tuple[str, ...]


FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field("tier", gettext_lazy("Tier"), "ids", ("in",)),
        Field("tags", gettext_lazy("Tags"), "tags", ("any_of", "all_of", "none_of")),
        Field("r_score", gettext_lazy("Recency score (R)"), "score", ("between",)),
        Field("f_score", gettext_lazy("Frequency score (F)"), "score", ("between",)),
        Field("m_score", gettext_lazy("Monetary score (M)"), "score", ("between",)),
        Field("days_since_last_purchase", gettext_lazy("Days since last purchase"), "days", ("lte", "gte")),
        Field("total_spend", gettext_lazy("Total spend (CNY)"), "money", ("gte", "lte")),
        Field("lifetime_value", gettext_lazy("Lifetime value (CNY)"), "money", ("gte", "lte")),
        Field("store", gettext_lazy("Recruiting store"), "ids", ("in",)),
        Field("guide", gettext_lazy("Recruiting guide"), "ids", ("in",)),
        Field("consent_call", gettext_lazy("Consents to calls"), "flag", ("is",)),
        Field("consent_sms", gettext_lazy("Consents to SMS"), "flag", ("is",)),
        Field("consent_chat", gettext_lazy("Consents to work-chat messages"), "flag", ("is",)),
        Field("points_balance", gettext_lazy("Points balance"), "points", ("gte", "lte")),
    )
}

OP_LABELS = {
    "in": gettext_lazy("is one of"),
    "any_of": gettext_lazy("has any of"),
    "all_of": gettext_lazy("has all of"),
    "none_of": gettext_lazy("has none of"),
    "between": gettext_lazy("between"),
    "lte": gettext_lazy("at most"),
    "gte": gettext_lazy("at least"),
    "is": gettext_lazy("is"),
}
OP_ALIASES = {"<=": "lte", ">=": "gte"}

EMPTY_RULES: dict = {"match": "all", "conditions": []}


class RuleError(InvalidInput):
    """Rules that do not validate; `problems` lists (condition index or None, message)."""

    def __init__(self, problems: list[tuple[int | None, str]]):
        self.problems = problems
        messages = [
            _("Condition %(n)s: %(message)s") % {"n": i + 1, "message": m} if i is not None else m
            for i, m in problems
        ]
        super().__init__("invalid_rules", messages[0], fields={"rules": messages})

    def for_condition(self, index: int) -> list[str]:
        return [m for i, m in self.problems if i == index]

    @property
    def general(self) -> list[str]:
        return [m for i, m in self.problems if i is None]


# --- validation -------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(value: Any, *, low: int, high: int) -> int:
    if not _is_int(value) or not low <= value <= high:
        raise ValueError(_("expected a whole number from %(low)s to %(high)s") % {"low": low, "high": high})
    return value


def _money(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(_("expected an amount in CNY"))
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(_("expected an amount in CNY")) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_NUMBER:
        raise ValueError(_("expected an amount in CNY"))
    return str(amount.quantize(Decimal("0.01")))


def _ids(value: Any) -> list[int]:
    if not isinstance(value, list) or not value:
        raise ValueError(_("choose at least one"))
    if len(value) > MAX_IDS or not all(_is_int(v) and 0 < v < 2**63 for v in value):
        raise ValueError(_("expected a list of ids"))
    return sorted(set(value))


def _value(field: Field, op: str, value: Any) -> Any:
    if field.kind in ("ids", "tags"):
        return _ids(value)
    if field.kind == "score":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(_("expected [min, max]"))
        low, high = (_int(v, low=1, high=5) for v in value)
        if low > high:
            raise ValueError(_("the minimum is above the maximum"))
        return [low, high]
    if field.kind == "days":
        return _int(value, low=0, high=100_000)
    if field.kind == "points":
        return _int(value, low=0, high=2**31 - 1)
    if field.kind == "money":
        return _money(value)
    if field.kind == "flag":
        if not isinstance(value, bool):
            raise ValueError(_("expected true or false"))
        return value
    raise AssertionError(field.kind)


def _owned_ids(field: str, brand_id: int) -> Any:
    from django.contrib.auth import get_user_model

    from retail.models import Store

    from .models import Tag, Tier

    if field == "tier":
        return Tier.objects.filter(brand_id=brand_id)
    if field == "tags":
        return Tag.objects.filter(brand_id=brand_id)
    if field == "store":
        return Store.objects.filter(brand_id=brand_id)
    if field == "guide":
        return get_user_model().objects.filter(staff_roles__brand_id=brand_id).distinct()
    raise AssertionError(field)


def validate_rules(rules: Any, *, brand_id: int) -> dict:
    """The rules, normalised, or a RuleError listing every problem. Ids must be the brand's."""
    if rules is None or rules == {}:
        return {"match": "all", "conditions": []}
    if not isinstance(rules, dict):
        raise RuleError([(None, _("Rules must be an object with `match` and `conditions`."))])
    problems: list[tuple[int | None, str]] = []
    unknown = sorted(set(rules) - {"match", "conditions"})
    if unknown:
        problems.append((None, _("Unknown key(s): %(keys)s.") % {"keys": ", ".join(map(str, unknown))}))
    match = rules.get("match", "all")
    if match not in ("all", "any"):
        problems.append((None, _("`match` must be “all” or “any”.")))
    conditions = rules.get("conditions", [])
    if not isinstance(conditions, list):
        raise RuleError([*problems, (None, _("`conditions` must be a list."))])
    if len(conditions) > MAX_CONDITIONS:
        raise RuleError([*problems, (None, _("At most %(n)s conditions.") % {"n": MAX_CONDITIONS})])
    out = []
    for i, cond in enumerate(conditions):
        if not isinstance(cond, dict) or set(cond) != {"field", "op", "value"}:
            problems.append((i, _("a condition has exactly `field`, `op` and `value`")))
            continue
        field = FIELDS.get(cond["field"]) if isinstance(cond["field"], str) else None
        if field is None:
            problems.append((i, _("unknown field %(field)r") % {"field": str(cond["field"])[:40]}))
            continue
        op = OP_ALIASES.get(cond["op"], cond["op"]) if isinstance(cond["op"], str) else None
        if op not in field.ops:
            problems.append(
                (
                    i,
                    _("operator %(op)r does not apply to %(field)s (use %(ops)s)")
                    % {"op": str(cond["op"])[:20], "field": field.name, "ops": ", ".join(field.ops)},
                )
            )
            continue
        try:
            value = _value(field, op, cond["value"])
        except ValueError as exc:
            problems.append((i, f"{field.name}: {exc}"))
            continue
        if field.kind in ("ids", "tags"):
            found = set(_owned_ids(field.name, brand_id).filter(pk__in=value).values_list("pk", flat=True))
            if found != set(value):
                problems.append((i, _("%(field)s: unknown id(s) %(ids)s") % {
                    "field": field.name, "ids": ", ".join(str(v) for v in value if v not in found)
                }))  # fmt: skip
                continue
        out.append({"field": field.name, "op": op, "value": value})
    if problems:
        raise RuleError(problems)
    return {"match": match, "conditions": out}


# --- compilation ------------------------------------------------------------------------------


def _tagged(tag_ids: list[int]) -> Exists:
    from .models import MemberTag

    return Exists(MemberTag.objects.filter(member_id=OuterRef("pk"), tag_id__in=tag_ids))


def _condition(cond: dict) -> Q:
    name, op, value = cond["field"], cond["op"], cond["value"]
    if name in ("tier", "store", "guide"):
        return Q(**{f"{name}_id__in": value})
    if name == "tags":
        if op == "any_of":
            return Q(_tagged(value))
        if op == "all_of":
            q = Q()
            for tag_id in value:
                q &= Q(_tagged([tag_id]))
            return q
        return ~Q(_tagged(value))
    if name in ("r_score", "f_score", "m_score"):
        return Q(**{f"profile__{name}__range": (value[0], value[1])})
    if name == "days_since_last_purchase":
        # from the last order's time, not the stored recency_days, so it stays true between runs
        cutoff = timezone.now() - timedelta(days=value)
        return Q(profile__last_order_at__gte=cutoff) if op == "lte" else Q(profile__last_order_at__lte=cutoff)
    if name == "total_spend":
        return Q(**{f"profile__monetary__{op}": Decimal(value)})
    if name == "lifetime_value":
        return Q(**{f"profile__lifetime_value__{op}": Decimal(value)})
    if name in ("consent_call", "consent_sms", "consent_chat"):
        return Q(**{name: value})
    if name == "points_balance":
        return Q(**{f"points_balance__{op}": value})
    raise AssertionError(name)


def compile_rules(rules: dict) -> Q:
    """A Q over Member for validated rules (see validate_rules); no conditions is everyone."""
    conditions = rules.get("conditions") or []
    if not conditions:
        return Q()
    parts = [_condition(c) for c in conditions]
    q = parts[0]
    for part in parts[1:]:
        q = (q | part) if rules.get("match") == "any" else (q & part)
    return q


def describe(rules: dict, names: dict[str, dict[int, str]] | None = None) -> list[str]:
    """One short line per condition, for detail pages; `names` labels ids per field."""
    names = names or {}
    lines = []
    for cond in (rules or {}).get("conditions", []):
        field = FIELDS.get(cond.get("field"))
        if field is None:
            continue
        value = cond.get("value")
        if isinstance(value, list) and field.kind == "score":
            value = "–".join(map(str, value))
        elif isinstance(value, list):
            labels = names.get(field.name, {})
            value = ", ".join(labels.get(v, f"#{v}") for v in value)
        elif isinstance(value, bool):
            value = _("yes") if value else _("no")
        lines.append(f"{field.label} {OP_LABELS.get(cond.get('op'), cond.get('op'))} {value}")
    return lines
