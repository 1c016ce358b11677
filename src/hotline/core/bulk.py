"""Inserting many rows of one model fast, for the engine's hot paths (the
sweep's notices and their history events).

On PostgreSQL the rows go in by ``COPY … FROM STDIN``: one round trip, no
per-value SQL quoting; primary keys are drawn from the table's sequence
first, so the caller knows them as it would after ``bulk_create``. Elsewhere
(SQLite) it is ``bulk_create``. Either way it runs in the caller's
transaction, and a constraint violation raises ``IntegrityError`` for the
whole batch, as ``bulk_create`` does.
"""

from __future__ import annotations

import json

from django.db import IntegrityError, connection, models


def _value(field: models.Field, obj: models.Model):
    value = getattr(obj, field.attname)
    if isinstance(field, models.JSONField):
        return None if value is None else json.dumps(value, cls=field.encoder, ensure_ascii=False)
    return value


def insert(model: type[models.Model], objs: list[models.Model]) -> list[models.Model]:
    """Insert ``objs`` (new rows of ``model``), setting their primary keys."""
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=1000)
    import psycopg

    meta = model._meta
    fields = [f for f in meta.concrete_fields]
    for obj in objs:  # Django's defaults and auto_now fields, as save() would fill them
        for f in fields:
            if f.primary_key:
                continue
            if getattr(obj, f.attname) is None and f.has_default():
                setattr(obj, f.attname, f.get_default())
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                f.pre_save(obj, add=True)
    table = meta.db_table
    pk = meta.pk
    with connection.cursor() as cursor:
        need = [o for o in objs if o.pk is None]
        if need:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, pk.column, len(need)])
            for obj, (value,) in zip(need, cursor.fetchall()):
                setattr(obj, pk.attname, value)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        try:
            with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
                for obj in objs:
                    copy.write_row([_value(f, obj) for f in fields])
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs
