"""Migration helpers for large tables."""

from __future__ import annotations

from django.db import migrations


def drop_field_indexes(app_label: str, fields: list[tuple[str, str]]) -> migrations.RunPython:
    """Drop the single-column index Django made for each (model, field), and
    nothing else. Pair it with the fields' ``AlterField(db_index=False)`` as
    state operations: a plain AlterField on a foreign key drops and re-adds
    the constraint, re-checking every row of a table with millions."""

    def names(apps, schema_editor):
        for model_name, field_name in fields:
            model = apps.get_model(app_label, model_name)
            table = model._meta.db_table
            field = model._meta.get_field(field_name)
            column = field.column
            yield table, column, "", schema_editor._create_index_name(table, [column], suffix="")
            if schema_editor.connection.vendor == "postgresql" and field.get_internal_type() == "CharField":
                # PostgreSQL character columns also had a pattern-ops twin for LIKE.
                yield table, column, " varchar_pattern_ops", schema_editor._create_index_name(table, [column], suffix="_like")

    def forwards(apps, schema_editor):
        for _table, _column, _ops, name in names(apps, schema_editor):
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")

    def backwards(apps, schema_editor):
        for table, column, ops, name in names(apps, schema_editor):
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(name)} "
                                  f"ON {schema_editor.quote_name(table)} ({schema_editor.quote_name(column)}{ops})")

    return migrations.RunPython(forwards, backwards)
