"""Inserting many new, already validated rows with their audit rows (history).

Used where a whole batch of casebooks was validated in memory with the services' rules:
``manage.py generate_cohort`` and ``services.casebooks_register_bulk`` (imports).
"""

from __future__ import annotations

from operator import attrgetter

from django.db import connection


class BulkWriter:
    """Inserts many new rows of a model, with their simple-history rows.

    On PostgreSQL it takes the primary keys from the table's sequence and streams the rows
    with COPY (several times faster than ``bulk_create``, whose per-value preparation
    dominates at this size); elsewhere it uses ``bulk_create`` and simple-history's
    ``bulk_history_create``. Either way the rows are plain inserts of already validated
    instances; ``auto_now`` fields get the batch time.
    """

    def __init__(self, user, now, *, reason: str) -> None:
        self.user = user
        self.now = now
        self.reason = reason
        self.copy = connection.vendor == "postgresql"

    def insert(self, model, objs: list) -> None:
        """Insert model instances; their primary keys are set afterwards."""
        if not objs:
            return
        if not self.copy:
            model.objects.bulk_create(objs)
            return
        fields = model._meta.concrete_fields
        for f in fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                for obj in objs:
                    if obj.__dict__.get(f.attname) is None:
                        obj.__dict__[f.attname] = self.now
        for obj, pk in zip(objs, self._next_ids(model, len(objs)), strict=True):
            obj.pk = pk
        getter = _copy_getter(fields)
        self._copy(model._meta.db_table, [f.column for f in fields], map(getter, objs))

    def insert_values(self, model, rows: list[dict]) -> list[int]:
        """Insert plain rows (field attname -> value, defaults filled in); returns their ids."""
        if not rows:
            return []
        if not self.copy:
            return [o.pk for o in model.objects.bulk_create(model(**row) for row in rows)]
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        defaults = {}
        for f in fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                defaults[f.attname] = self.now
            elif f.has_default():
                defaults[f.attname] = f.get_default()
        json_fields = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
        ids = self._next_ids(model, len(rows))
        from psycopg.types.json import Jsonb  # the COPY path runs on PostgreSQL only

        def as_tuple(pk, row):
            values = [pk]
            for f in fields:
                value = row[f.attname] if f.attname in row else defaults.get(f.attname)
                values.append(Jsonb(value) if f.attname in json_fields else value)
            return values

        columns = [model._meta.pk.column, *(f.column for f in fields)]
        self._copy(
            model._meta.db_table,
            columns,
            (as_tuple(pk, row) for pk, row in zip(ids, rows, strict=True)),
        )
        return ids

    def insert_history(self, model, objs: list) -> None:
        """A simple-history "created" row per instance, by ``user`` with ``reason``."""
        if not objs:
            return
        if not self.copy:
            model.history.bulk_history_create(
                objs,
                default_user=self.user,
                default_change_reason=self.reason,
                default_date=self.now,
            )
            return
        historical = model.history.model
        tracked = {f.attname for f in model._meta.concrete_fields}
        fields = [f for f in historical._meta.concrete_fields if f.attname in tracked]
        columns = [f.column for f in fields] + [
            "history_date",
            "history_change_reason",
            "history_type",
            "history_user_id",
        ]
        extra = (self.now, self.reason, "+", self.user.pk)
        getter = _copy_getter(fields)
        self._copy(historical._meta.db_table, columns, (getter(o) + extra for o in objs))

    @staticmethod
    def _next_ids(model, count: int) -> list[int]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            (sequence,) = cursor.fetchone()
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count]
            )
            return [pk for (pk,) in cursor.fetchall()]

    @staticmethod
    def _copy(table: str, columns: list[str], rows) -> None:
        qn = connection.ops.quote_name
        sql = f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)


def _copy_getter(fields):
    """The row tuple COPY writes for an instance: JSON values (the missing-data codes) are
    wrapped for psycopg, everything else as the attribute holds it."""
    from psycopg.types.json import Jsonb  # the COPY path runs on PostgreSQL only

    getter = attrgetter(*(f.attname for f in fields))
    json_at = [i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"]
    if not json_at:
        return getter

    def values(obj) -> tuple:
        row = list(getter(obj))
        for i in json_at:
            row[i] = Jsonb(row[i])
        return tuple(row)

    return values
