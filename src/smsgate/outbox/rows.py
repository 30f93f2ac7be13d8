"""Writing and reading many rows of one model in one statement, without the ORM's per-field, per-row work.

A worker writes a batch of attempts and messages every few milliseconds; Django's bulk_create and
bulk_update spent more time composing those statements than the database spent running them, and a
RawQuerySet more time building the claimed rows into models than the claim took (bench/PROFILE.md). Same
rows, same values, same transaction.
"""

import functools
from operator import attrgetter

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init


def update_rows(
    model: type[Model], rows: list[Model], fields: list[str], only_if: dict | None = None
) -> None:
    """What QuerySet.bulk_update does: on SQLite one UPDATE … WHERE id = %s run with executemany, on
    PostgreSQL one UPDATE … FROM UNNEST(arrays). `only_if` {field: value}: rows that no longer hold those
    values are left as they are (checked by the statement itself, so no one can change them in between).

    bulk_update builds one CASE WHEN per field with a branch per row: for a batch of results that statement
    took 62% of a draining worker's time; these statements stay the same size whatever the batch.
    """
    if not rows:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    quote = connection.ops.quote_name
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    db = connections[DEFAULT_DB_ALIAS]
    values = _row_values(columns, db)
    guards = [(meta.get_field(name), value) for name, value in (only_if or {}).items()]
    guard_sql = "".join(f" AND {table}.{quote(f.column)} = %s" for f, _ in guards)
    guard_params = [f.get_db_prep_save(value, db) for f, value in guards]
    if connection.vendor == "postgresql":
        # One statement with an array per column: psycopg runs executemany as one statement per row, each
        # with its own Python bookkeeping (a sixth of a PostgreSQL worker's time, bench/PROFILE.md).
        assignments = ", ".join(f"{quote(c.column)} = v.c{i}" for i, c in enumerate(columns))
        names = ", ".join(["id", *(f"c{i}" for i in range(len(columns)))])
        sql = f"UPDATE {table} SET {assignments} FROM {_unnest([meta.pk, *columns])} AS v({names}) "
        sql += f"WHERE {table}.{pk} = v.id{guard_sql}"
        params = [[row.pk for row in rows], *map(list, zip(*map(values, rows), strict=True)), *guard_params]
        with _array_cursor() as cursor:
            cursor.execute(sql, params)
        return
    assignments = ", ".join(f"{quote(c.column)} = %s" for c in columns)
    sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s{guard_sql}"
    params = [[*values(row), row.pk, *guard_params] for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _array_cursor():
    """On PostgreSQL, a cursor for statements whose parameters are whole columns, written %b: bound on the
    server, in binary, so psycopg dumps each array in C. Django's own cursors bind on the client side and
    psycopg then quotes every element as text in Python: most of the CPU of a PostgreSQL worker's database
    thread, its bottleneck (bench/PROFILE.md). Wrapped as Django wraps its own cursors, so errors come out as
    Django's and the query log sees these statements."""
    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    return (
        connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)
    )


def _unnest(fields) -> str:
    """UNNEST of one %b array parameter per field, each cast to its column's type without a length
    (varchar[] for varchar(64))."""
    arrays = ", ".join(f"(%b)::{f.db_type(connection).split('(')[0]}[]" for f in fields)
    return f"UNNEST({arrays})"


def placeholders(count: int) -> str:
    """ "%s, %s, …": the parameters of an IN list or a VALUES row."""
    return ", ".join(["%s"] * count)


# Fields whose value goes to either database as it is when it has exactly this type (get_db_prep_save
# returns it unchanged): most values of a batch, each of which cost a call into the field.
_STORED_AS_IS = {
    models.CharField: str,
    models.TextField: str,
    models.IntegerField: int,
    models.PositiveIntegerField: int,
    models.BigAutoField: int,
    models.ForeignKey: int,
}


class _Never:
    """The type no value has: a field whose every value goes through its preparation."""


def _row_values(fields: list, db):
    """instance → the values of `fields` as the database takes them (what field.get_db_prep_save gives). A
    value of a type its field stores as it is (most of a row) is passed without a call, which was the cost."""
    names = [f.attname for f in fields]
    read = attrgetter(*names) if len(names) > 1 else lambda instance: (getattr(instance, names[0]),)
    plain = [_STORED_AS_IS.get(type(f), _Never) for f in fields]
    prepare = [_prepared(f, db) for f in fields]

    def values(instance) -> list:
        return [v if type(v) is t else p(v) for v, t, p in zip(read(instance), plain, prepare, strict=True)]

    return values


def _prepared(field, db):
    """field.get_db_prep_save, remembering the last value: a batch shares its timestamps, and preparing a
    datetime for SQLite (time zone, then text) was the costliest part of building the parameters. Equal
    values of one type count as the same (each message's expiry is its own datetime, of the same time)."""
    last = [(_Never, None)]

    def prepare(value):
        seen, prepared = last[0]
        if value is not seen and (type(value) is not type(seen) or value != seen):
            prepared = field.get_db_prep_save(value, db)
            last[0] = (value, prepared)
        return prepared

    return prepare


def all_columns(model: type[Model]) -> str:
    """The model's concrete columns, quoted, in the order read_rows expects them."""
    return ", ".join(connection.ops.quote_name(f.column) for f in model._meta.concrete_fields)


def read_rows(model: type[Model], sql: str, params: list) -> list[Model]:
    """Instances of `model` from a statement that returns all_columns(model): what a RawQuerySet
    does, without its per-row machinery (a tenth of a draining worker, bench/PROFILE.md). A datetime read as
    text (SQLite) is converted once per distinct value: a batch's rows share most of their timestamps."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    db = connections[DEFAULT_DB_ALIAS]
    converting = []
    for i, field, col, immutable in _converted_columns(model, db.vendor):
        steps = db.ops.get_db_converters(col) + field.get_db_converters(db)
        convert = functools.partial(_convert, steps, col, db)
        converting.append((i, _remembered(convert) if immutable else convert))
    if converting:
        rows = [list(row) for row in rows]
        for i, convert in converting:
            for row in rows:
                row[i] = convert(row[i])
    return _instances(model, rows, adding=False)


def _instances(model: type[Model], rows: list, *, adding: bool) -> list[Model]:
    """model(*row) for each row of concrete field values, in order: what Django does for rows it reads, less
    its per-instance work (pre_init and post_init signals sent to nobody, a setattr per field): an eighth
    of a draining worker's time (bench/PROFILE.md). Model.__init__ stays wherever it could do more."""
    if not _plain_fields(model) or pre_init.has_listeners(model) or post_init.has_listeners(model):
        instances = [model(*row) for row in rows]
        for instance in instances:
            instance._state.adding, instance._state.db = adding, None if adding else DEFAULT_DB_ALIAS
        return instances
    names = [f.attname for f in model._meta.concrete_fields]
    new = model.__new__
    instances = []
    for row in rows:
        instance = new(model)
        instance.__dict__.update(zip(names, row, strict=True))
        state = instance._state = ModelState()
        state.adding, state.db = adding, None if adding else DEFAULT_DB_ALIAS
        instances.append(instance)
    return instances


@functools.cache
def _plain_fields(model: type[Model]) -> bool:
    """Whether setting each concrete field of a new instance is only storing its value: no descriptor of
    its own that does more (a foreign key's only forgets a cached object, which a new instance has not)."""
    plain = (DeferredAttribute, ForeignKeyDeferredAttribute)
    return all(type(model.__dict__.get(f.attname)) in plain for f in model._meta.concrete_fields)


@functools.cache
def _converted_columns(model: type[Model], vendor: str) -> list:
    """(column index, field, its column expression, whether its results are immutable) for each column whose
    value the backend or the field converts when read (SQLite returns datetimes as text): worked out once, as
    a RawQuerySet does on every query. Nothing kept here holds a connection, which must close with its
    thread (a cached one kept PostgreSQL test databases from being dropped)."""
    db = connections[DEFAULT_DB_ALIAS]
    assert db.vendor == vendor
    found = []
    for i, field in enumerate(model._meta.concrete_fields):
        col = field.get_col(model._meta.db_table)
        if db.ops.get_db_converters(col) + field.get_db_converters(db):
            immutable = isinstance(field, models.DateField | models.TimeField)  # DateTimeField is a DateField
            found.append((i, field, col, immutable))
    return found


def _convert(steps, col, db, value):
    for step in steps:
        value = step(value, col, db)
    return value


def _remembered(convert):
    """`convert`, once per distinct value. Only for immutable results: one JSON value must not become two
    rows'."""
    seen = {None: None}

    def remembered(value):
        if value not in seen:
            seen[value] = convert(value)
        return seen[value]

    return remembered


def insert_rows(model: type[Model], template: Model, varying: list[str], values: list[tuple]) -> list[Model]:
    """Insert one row per tuple in `values`, which hold the `varying` fields; the rest are as in `template`.

    Returns the saved instances, ids set.
    """
    fields = model._meta.concrete_fields
    shared = [getattr(template, f.attname) for f in fields]
    slots = [fields.index(model._meta.get_field(name)) for name in varying]
    rows = []
    for value in values:
        row = shared.copy()
        for slot, item in zip(slots, value, strict=True):
            row[slot] = item
        rows.append(row)
    instances = _instances(model, rows, adding=True)
    insert_instances(model, instances)
    return instances


def insert_instances(model: type[Model], instances: list[Model]) -> None:
    """What bulk_create does for new rows, as one INSERT … RETURNING id per ROWS_PER_STATEMENT rows; sets
    the ids. A value shared by neighbouring rows (a batch's timestamps, its gateway) is prepared once."""
    meta = model._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = _row_values(fields, connections[DEFAULT_DB_ALIAS])
    quote = connection.ops.quote_name
    insert = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
    returning = f" RETURNING {quote(meta.pk.column)}"
    for start in range(0, len(instances), ROWS_PER_STATEMENT):
        chunk = instances[start : start + ROWS_PER_STATEMENT]
        if connection.vendor == "postgresql":
            # One array per column, as Django's bulk_create does on PostgreSQL: psycopg parses placeholders
            # in Python and caches that only for statements of up to 50 parameters, so a VALUES list was
            # parsed again on every claim (15% of a PostgreSQL worker's time, bench/PROFILE.md).
            sql = f"{insert}SELECT * FROM {_unnest(fields)}{returning}"
            params = [list(column) for column in zip(*map(values, chunk), strict=True)]
            cursor = _array_cursor()
        else:
            rows = ", ".join([f"({placeholders(len(fields))})"] * len(chunk))
            sql = f"{insert}VALUES {rows}{returning}"
            params = [value for instance in chunk for value in values(instance)]
            cursor = connection.cursor()
        with cursor:
            cursor.execute(sql, params)
            ids = [pk for (pk,) in cursor.fetchall()]
        # A single INSERT returns its ids in the order of its rows on both databases (bulk_create relies
        # on it too).
        for instance, pk in zip(chunk, ids, strict=True):
            instance.pk = pk
            instance._state.adding = False
            instance._state.db = DEFAULT_DB_ALIAS


ROWS_PER_STATEMENT = 500  # rows per statement: well under both databases' limit on parameters
