"""A migration operation for PostgreSQL's trigram indexes (pg_trgm), which
make ``LIKE '%fragment%'`` (``__contains``) an index scan instead of a scan
of the whole table. PostgreSQL only: elsewhere, and where the extension may
not be created, it does nothing and the search still works, unindexed. The
model does not declare these indexes (SQLite has none to offer)."""

from __future__ import annotations

from django.db import migrations, transaction


class TrigramIndex(migrations.operations.base.Operation):
    reduces_to_sql = False
    reversible = True

    def __init__(self, table: str, column: str, name: str):
        self.table, self.column, self.name = table, column, name

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        q = schema_editor.quote_name
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except Exception:  # no right to create it: the search stays unindexed
            return
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {q(self.name)} ON {q(self.table)} "
                              f"USING gin ({q(self.column)} gin_trgm_ops)")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(self.name)}")

    def describe(self):
        return f"Trigram index {self.name} on {self.table}.{self.column} (PostgreSQL)"

    def deconstruct(self):
        return self.__class__.__name__, [self.table, self.column, self.name], {}
