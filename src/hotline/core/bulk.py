"""Inserting and updating many rows of one model fast, for the hot paths
(the sweep's notices and their history events, the calls ingest).

On PostgreSQL the rows go in by ``COPY … FROM STDIN``: one round trip, no
per-value SQL quoting; primary keys are drawn from the table's sequence
first, so the caller knows them as it would after ``bulk_create``. Elsewhere
(SQLite) it is ``bulk_create``. Either way it runs in the caller's
transaction, and a constraint violation raises ``IntegrityError`` for the
whole batch, as ``bulk_create`` does.

``update`` sets some fields of many rows by primary key: on PostgreSQL one
``UPDATE … FROM unnest(…)`` (one array per column, a round trip and no SQL
text that grows with the rows), elsewhere one ``UPDATE … WHERE pk = %s``
sent for every row (executemany) — either way none of ``bulk_update``'s
``CASE WHEN`` expressions, whose building costs more than the update.
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


def insert_rows(model: type[models.Model], fields, rows) -> list:
    """Insert plain rows (the values of ``fields``, attribute names, in
    order; every column without a database default named) and return their
    primary keys in order: ``insert`` without model instances."""
    rows = list(rows)
    if not rows:
        return []
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        objs = model.objects.bulk_create([model(**dict(zip([c.attname for c in columns], row))) for row in rows],
                                         batch_size=1000)
        return [obj.pk for obj in objs]
    import psycopg

    json_at = [(i, c.encoder) for i, c in enumerate(columns, 1) if isinstance(c, models.JSONField)]
    pk = meta.pk
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [meta.db_table, pk.column, len(rows)])
        keys = [value for (value,) in cursor.fetchall()]
        names = ", ".join(quote(c.column) for c in [pk, *columns])
        try:
            with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({names}) FROM STDIN") as copy:
                for key, row in zip(keys, rows):
                    if json_at:
                        row = [key, *row]
                        for i, encoder in json_at:
                            if row[i] is not None:
                                row[i] = json.dumps(row[i], cls=encoder, ensure_ascii=False)
                        copy.write_row(row)
                    else:
                        copy.write_row((key, *row))
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
    return keys


def _array_type(field: models.Field) -> str:
    """The SQL type of a column's values in an array cast."""
    if field.is_relation:
        return field.target_field.rel_db_type(connection)
    if field.primary_key:
        return field.rel_db_type(connection)
    return field.db_type(connection)


_NUMBERS = {"FloatField": float, "IntegerField": int, "BigIntegerField": int, "SmallIntegerField": int,
            "PositiveIntegerField": int, "PositiveBigIntegerField": int, "PositiveSmallIntegerField": int,
            "AutoField": int, "BigAutoField": int, "SmallAutoField": int}


def _array(field: models.Field, values: list) -> list:
    """One column's values for PostgreSQL: JSON as the field prepares it,
    numbers of one Python type (an array is of one type), the rest as they
    are (psycopg adapts text, times, booleans and None)."""
    if isinstance(field, models.JSONField):
        return [field.get_db_prep_save(v, connection) for v in values]
    kind = _NUMBERS.get((field.target_field if field.is_relation else field).get_internal_type())
    if kind is not None:
        return [None if v is None else kind(v) for v in values]
    return values


def update(model: type[models.Model], objs, fields) -> int:
    """Write ``fields`` (names) of ``objs`` (rows of ``model`` with their
    primary keys) in the caller's transaction; returns the rows sent."""
    columns = [model._meta.get_field(name) for name in fields]
    names = [c.attname for c in columns]
    return update_rows(model, fields, [(obj.pk, *(getattr(obj, n) for n in names)) for obj in objs])


def update_rows(model: type[models.Model], fields, rows) -> int:
    """``update`` from plain rows: (primary key, value of each field …)."""
    rows = list(rows)
    if not rows:
        return 0
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    pk = meta.pk
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    if connection.vendor == "postgresql":
        names = [f"v{i}" for i in range(len(columns))]
        arrays = ", ".join(["%b::" + _array_type(pk) + "[]"] + [f"%b::{_array_type(c)}[]" for c in columns])
        sets = ", ".join(f"{quote(c.column)} = v.{n}" for c, n in zip(columns, names))
        params = [[r[0] for r in rows], *(_array(c, [r[i] for r in rows]) for i, c in enumerate(columns, 1))]
        pg_execute(f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS v(k, {', '.join(names)}) "
                   f"WHERE {table}.{quote(pk.column)} = v.k", params)
        return len(rows)
    sql = (f"UPDATE {table} SET {', '.join(f'{quote(c.column)} = %s' for c in columns)} "
           f"WHERE {quote(pk.column)} = %s")
    params = [[c.get_db_prep_save(v, connection) for c, v in zip(columns, r[1:])] + [r[0]] for r in rows]
    with connection.cursor() as cursor:
        for i in range(0, len(params), 1000):
            cursor.executemany(sql, params[i: i + 1000])
    return len(rows)


def pg_execute(sql: str, params, *, prepare: bool = True) -> list[tuple]:
    """Run one statement on PostgreSQL with its parameters bound by the
    server, ``%b`` ones sent in binary: Django's cursors bind on the client,
    quoting each value into the SQL text, which for a parameter that is an
    array of thousands of values costs far more than the statement itself
    (``%b``: 0.3 µs a value, quoted 2–5 µs). ``prepare``: the statement is
    prepared once per connection (its text must not vary with the data: the
    values go in arrays) and not planned again. In the caller's transaction;
    returns the rows, if any."""
    import psycopg

    connection.ensure_connection()
    with psycopg.Cursor(connection.connection) as cursor:
        try:
            cursor.execute(sql, params, prepare=prepare)
        except psycopg.errors.IntegrityError as exc:
            raise IntegrityError(str(exc)) from exc
        return cursor.fetchall() if cursor.description else []
