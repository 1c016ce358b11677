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
from operator import attrgetter

from django.db import IntegrityError, connection, models


def insert(model: type[models.Model], objs: list[models.Model]) -> list[models.Model]:
    """Insert ``objs`` (new rows of ``model``), setting their primary keys."""
    if not objs:
        return objs
    if connection.vendor != "postgresql":
        return model.objects.bulk_create(objs, batch_size=1000)
    import psycopg

    meta = model._meta
    fields = [f for f in meta.concrete_fields]
    # What each row needs is known per field, once: which take Django's
    # default when empty, which are stamped as save() would, which are JSON.
    defaults = [(f.attname, f) for f in fields if not f.primary_key and f.has_default()]
    stamped = [f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)]
    json_at = [(i, f.encoder) for i, f in enumerate(fields) if isinstance(f, models.JSONField)]
    for obj in objs:
        values = obj.__dict__
        for attname, f in defaults:
            if values.get(attname) is None:
                setattr(obj, attname, f.get_default())
        for f in stamped:
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
            row_of = attrgetter(*(f.attname for f in fields))
            with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
                for obj in objs:
                    row = list(row_of(obj)) if len(fields) > 1 else [row_of(obj)]
                    for i, encoder in json_at:
                        if row[i] is not None:
                            row[i] = json.dumps(row[i], cls=encoder, ensure_ascii=False)
                    copy.write_row(row)
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
    return objs
