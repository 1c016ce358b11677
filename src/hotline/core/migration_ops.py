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


class AppendOnlyTable(migrations.operations.base.Operation):
    """Make a table refuse UPDATE and DELETE in the database itself, so a raw
    query, a script or another client cannot rewrite history the ORM guards.

    PostgreSQL only: a BEFORE UPDATE OR DELETE row trigger calling one shared
    function that raises ``restrict_violation`` (Django's IntegrityError).
    TRUNCATE fires no row trigger, so the test runner's flush still works.
    A no-op elsewhere: on SQLite (development and tests) Django's flush empties
    tables with DELETE, which such a trigger would refuse; production runs on
    PostgreSQL."""

    reversible = True
    reduces_to_sql = True
    FUNCTION = "hotline_refuse_change"

    def __init__(self, table: str):
        self.table = table

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.table], {})

    def describe(self):
        return f"Refuse UPDATE and DELETE on {self.table}"

    @property
    def migration_name_fragment(self):
        return f"append_only_{self.table}"

    def state_forwards(self, app_label, state):
        pass

    def _trigger(self, schema_editor) -> str:
        return schema_editor.quote_name(f"{self.table}_append_only")

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        # CREATE OR REPLACE: the function is shared by every append-only table.
        schema_editor.execute(
            f"CREATE OR REPLACE FUNCTION {self.FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            # No '%' placeholders: the schema editor formats its SQL with parameters.
            "BEGIN RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only: ' || TG_OP || ' refused', "
            "ERRCODE = 'restrict_violation'; END $$"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {self._trigger(schema_editor)} BEFORE UPDATE OR DELETE "
            f"ON {schema_editor.quote_name(self.table)} FOR EACH ROW EXECUTE FUNCTION {self.FUNCTION}()"
        )

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {self._trigger(schema_editor)} "
                              f"ON {schema_editor.quote_name(self.table)}")
        # The function goes with the last trigger that uses it.
        schema_editor.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_trigger t JOIN pg_proc p ON p.oid = t.tgfoid "
            f"WHERE p.proname = '{self.FUNCTION}') THEN DROP FUNCTION IF EXISTS {self.FUNCTION}(); END IF; END $$"
        )
