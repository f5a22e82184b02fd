"""Reads of telemetry ingestion: the device behind a credential, a device's recent events."""

from __future__ import annotations

from functools import cache

from django.db import connection

from ..models import Device, DeviceType


def device_for_credential_prefix(*, prefix: str) -> Device | None:
    """The device whose credential starts `tdv_<prefix>_` (its type loaded: ingestion
    validates against it), or None. The caller compares the hash.

    Every telemetry batch asks, so this is one hand-written query (the ORM spent more time
    compiling it than PostgreSQL did answering), loaded into model instances as the ORM would."""
    if not prefix or len(prefix) > 16:
        return None
    sql, device_fields, type_fields = _query()
    with connection.cursor() as cursor:
        cursor.execute(sql, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    device = _instance(Device, device_fields, row[: len(device_fields)])
    device.device_type = _instance(DeviceType, type_fields, row[len(device_fields) :])
    return device


@cache
def _query():
    quote = connection.ops.quote_name
    device_fields = Device._meta.concrete_fields
    type_fields = DeviceType._meta.concrete_fields
    columns = [f"d.{quote(f.column)}" for f in device_fields] + [f"t.{quote(f.column)}" for f in type_fields]
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(Device._meta.db_table)} d "
        f"JOIN {quote(DeviceType._meta.db_table)} t ON t.{quote(DeviceType._meta.pk.column)} = "
        f"d.{quote(Device._meta.get_field('device_type').column)} "
        f"WHERE d.{quote(Device._meta.get_field('credential_prefix').column)} = %s"
    )
    return sql, device_fields, type_fields


def _instance(model, fields, values):
    """A model instance from a row of its concrete fields (with their from-database
    conversions, e.g. JSON)."""
    converted = []
    for field, value in zip(fields, values, strict=True):
        if value is not None:
            column = field.get_col(model._meta.db_table)
            for convert in connection.ops.get_db_converters(column) + field.get_db_converters(connection):
                value = convert(value, column, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)
