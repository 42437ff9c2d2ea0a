"""Database errors: deadlocks, constraint violations, lost connections, statement
timeouts and exhausted pools, as Django + psycopg, Prisma/pg and Spring + JDBC raise them.

Many root causes share a template (every deadlock reads "deadlock detected"): only
the in-app frames tell them apart, which is the point.
"""

from __future__ import annotations

from seed.catalogue import frames as f
from seed.catalogue.codepaths import Leaf, camel
from seed.catalogue.common import (
    FRAMEWORK_MECHANISM,
    Ctx,
    Template,
    error,
    stack,
    where,
)
from seed.catalogue.libraries import (
    PGJDBC,
    PY_QUERY,
    PY_SAVE,
    java_chain,
    prisma_error,
    python_chain,
)
from seed.model import ExceptionSpec

_DEADLOCK_DETAIL = (
    "Process {pid} waits for ShareLock on transaction {id}; blocked by process {position}."
)


def deadlock(ctx: Ctx):
    model, entity, table = ctx.model, ctx.entity, ctx.table
    if ctx.platform == "python":
        leaf = Leaf(
            "repository",
            f"lock_{entity}_rows",
            f"        rows = list({model}.objects.select_for_update().filter(id__in=ids))",
        )
        message = (
            f"deadlock detected\nDETAIL:  {_DEADLOCK_DETAIL}\nHINT:  See server log for query "
            f'details.\nCONTEXT:  while locking tuple (3,{{n}}) in relation "{table}"'
        )
        chain = python_chain(
            ctx,
            leaf,
            cause=("psycopg.errors", "DeadlockDetected"),
            outer="OperationalError",
            message=message,
            lib=PY_QUERY,
        )
    elif ctx.platform == "node":
        leaf = Leaf(
            "repository",
            f"update{model}Status",
            f"    return this.prisma.{camel(entity)}.update({{ where: {{ id }}, "
            "data: { status } });",
        )
        detail = (
            "Transaction failed due to a write conflict or a deadlock. "
            "Please retry your transaction"
        )
        chain = (prisma_error(ctx, leaf, "update", detail),)
    else:
        leaf = Leaf("repository", "lockForUpdate", "")
        sql = f"SELECT * FROM {table} WHERE id = ? FOR UPDATE"
        detail = (
            f"ERROR: deadlock detected\n  Detail: {_DEADLOCK_DETAIL}\n"
            "  Hint: See server log for query details."
        )
        chain = java_chain(
            ctx,
            leaf,
            [
                ("org.postgresql.util.PSQLException", detail),
                (
                    "org.springframework.dao.CannotAcquireLockException",
                    f"PreparedStatementCallback; SQL [{sql}]; {detail}",
                ),
            ],
            PGJDBC,
        )
    return error(ctx, chain), f"Deadlock on {table} in {where(ctx)}"


# Values only of kinds Sentry's parameterization replaces: psycopg's exception (the chain's
# cause) is raised in library frames only, so its message is part of the hash.
_UNIQUE_COLUMNS = (
    ("email", "{email}"),
    ("external_id", "{id}"),
    ("reference", "{invoice_id}"),
    ("idempotency_key", "{uuid}"),
    ("sku", "{sku}"),
)


def _constraint(ctx: Ctx) -> tuple[str, str, str, str, str]:
    """(kind, column, PostgreSQL's message, psycopg's exception, Prisma's message)."""
    table = ctx.table
    column, value = ctx.pick(_UNIQUE_COLUMNS)
    kind = ctx.pick(("unique", "unique", "foreign key", "not null"))
    if kind == "foreign key":
        column = "customer_id"
    messages = {
        "unique": (
            f'duplicate key value violates unique constraint "{table}_{column}_key"\n'
            f"DETAIL:  Key ({column})=({value}) already exists.",
            "UniqueViolation",
            f"Unique constraint failed on the fields: (`{camel(column)}`)",
        ),
        "foreign key": (
            f'insert or update on table "{table}" violates foreign key constraint '
            f'"{table}_{column}_fkey"\nDETAIL:  Key ({column})=({{id}}) '
            'is not present in table "customers_customer".',
            "ForeignKeyViolation",
            f"Foreign key constraint violated: `{table}_customerId_fkey (index)`",
        ),
        "not null": (
            f'null value in column "{column}" of relation "{table}" violates not-null '
            "constraint\nDETAIL:  Failing row contains ({id}, null, pending, {date}).",
            "NotNullViolation",
            f"Null constraint violation on the fields: (`{camel(column)}`)",
        ),
    }
    return (kind, column, *messages[kind])


def constraint_violation(ctx: Ctx):
    model, entity, table = ctx.model, ctx.entity, ctx.table
    kind, column, pg, py_type, prisma = _constraint(ctx)
    if ctx.platform == "python":
        leaf = Leaf(
            "repository",
            f"save_{entity}",
            f"        {entity}.save(update_fields=['{column}', 'updated_at'])",
        )
        chain = python_chain(
            ctx,
            leaf,
            cause=("psycopg.errors", py_type),
            outer="IntegrityError",
            message=pg,
            lib=PY_SAVE,
        )
    elif ctx.platform == "node":
        leaf = Leaf(
            "repository",
            f"create{model}",
            f"    return this.prisma.{camel(entity)}.create({{ data }});",
        )
        chain = (prisma_error(ctx, leaf, "create", prisma),)
    else:
        leaf = Leaf("repository", "save", "")
        sql = f"insert into {table} (created_at,{column},status,id) values (?,?,?,?)"
        detail = "ERROR: " + pg.replace("\nDETAIL: ", "\n  Detail:")
        chain = java_chain(
            ctx,
            leaf,
            [
                ("org.postgresql.util.PSQLException", detail),
                (
                    "org.hibernate.exception.ConstraintViolationException",
                    f"could not execute statement [{detail}] [{sql}]",
                ),
                (
                    "org.springframework.dao.DataIntegrityViolationException",
                    f"could not execute statement [{detail}] [{sql}]; SQL [{sql}]; "
                    f"constraint [{table}_{column}_key]",
                ),
            ],
            PGJDBC,
        )
    return error(ctx, chain), f"{kind.title()} constraint on {table}.{column} in {where(ctx)}"


def connection_lost(ctx: Ctx):
    model, entity = ctx.model, ctx.entity
    if ctx.platform == "python":
        leaf = Leaf(
            "repository",
            f"find_{entity}",
            f"        return {model}.objects.select_related('customer').filter(pk={entity}_id)"
            ".first()",
        )
        message = (
            "consuming input failed: server closed the connection unexpectedly\n\tThis probably "
            "means the server terminated abnormally\n\tbefore or while processing the request."
        )
        chain = python_chain(
            ctx,
            leaf,
            cause=("psycopg", "OperationalError"),
            outer="OperationalError",
            message=message,
            lib=PY_QUERY,
        )
    elif ctx.platform == "node":
        leaf = Leaf(
            "repository",
            f"find{model}",
            f"    return this.prisma.{camel(entity)}.findUnique({{ where: {{ id }} }});",
        )
        detail = (
            "Can't reach database server at `db-primary.internal:5432`\n\nPlease make sure your "
            "database server is running at `db-primary.internal:5432`."
        )
        spec = prisma_error(ctx, leaf, "findUnique", detail)
        chain = (
            ExceptionSpec(
                "PrismaClientInitializationError", spec.value, spec.frames, None, spec.mechanism
            ),
        )
    else:
        leaf = Leaf("repository", "findById", "")
        sql = f"SELECT * FROM {ctx.table} WHERE id = ?"
        chain = java_chain(
            ctx,
            leaf,
            [
                ("java.net.SocketException", "Connection reset"),
                (
                    "org.postgresql.util.PSQLException",
                    "An I/O error occurred while sending to the backend.",
                ),
                (
                    "org.springframework.dao.DataAccessResourceFailureException",
                    f"PreparedStatementCallback; SQL [{sql}]; "
                    "An I/O error occurred while sending to the backend.",
                ),
            ],
            PGJDBC,
        )
    return error(ctx, chain, level="fatal" if ctx.rng.random() < 0.3 else "error"), (
        f"Database connection lost in {where(ctx)}"
    )


def statement_timeout(ctx: Ctx):
    model, entity, table = ctx.model, ctx.entity, ctx.table
    message = "canceling statement due to statement timeout"
    if ctx.platform == "python":
        leaf = Leaf(
            "reports",
            f"{entity}_totals",
            f"        totals = {model}.objects.filter(created_at__gte=since)"
            ".values('status').annotate(n=Count('id'))",
        )
        chain = python_chain(
            ctx,
            leaf,
            cause=("psycopg.errors", "QueryCanceled"),
            outer="OperationalError",
            message=message,
            lib=PY_QUERY,
        )
    elif ctx.platform == "node":
        leaf = Leaf(
            "repository",
            f"search{model}s",
            "    const { rows } = await this.pool.query(sql, params);",
        )
        raised = (
            f.node_lib("node_modules/pg-pool/index.js", "async", 45, 11),
            f.node_lib("node_modules/pg/lib/client.js", "Client._handleErrorMessage", 368, 22),
        )
        chain = (
            ExceptionSpec(
                "error", message, stack(ctx, leaf, raised), None, FRAMEWORK_MECHANISM["node"]
            ),
        )
    else:
        leaf = Leaf("repository", "findOverdue", "")
        sql = f"SELECT * FROM {table} WHERE due_date < ? AND status = ? ORDER BY due_date"
        chain = java_chain(
            ctx,
            leaf,
            [
                ("org.postgresql.util.PSQLException", f"ERROR: {message}"),
                (
                    "org.springframework.dao.QueryTimeoutException",
                    f"PreparedStatementCallback; SQL [{sql}]; ERROR: {message}",
                ),
            ],
            PGJDBC,
        )
    return error(ctx, chain), f"Slow query on {table} hits the statement timeout in {where(ctx)}"


def pool_exhausted(ctx: Ctx):
    entity = ctx.entity
    if ctx.platform == "python":
        leaf = Leaf(
            "repository", f"load_{entity}", f"        return self.queryset.get(pk={entity}_id)"
        )
        message = "couldn't get a connection after 30.00 sec"
        lib = (
            f.py_lib(
                "django.db.backends.base.base",
                "ensure_connection",
                275,
                "            self.connect()",
            ),
        )
        chain = python_chain(
            ctx,
            leaf,
            cause=("psycopg_pool", "PoolTimeout"),
            outer="OperationalError",
            message=message,
            lib=lib,
        )
    elif ctx.platform == "node":
        leaf = Leaf(
            "repository", f"with{ctx.model}Lock", "    const client = await this.pool.connect();"
        )
        raised = (f.node_lib("node_modules/pg-pool/index.js", "Timeout._onTimeout", 205, 27),)
        frames = stack(ctx, leaf, raised)
        chain = (
            ExceptionSpec(
                "Error",
                "timeout exceeded when trying to connect",
                frames,
                None,
                FRAMEWORK_MECHANISM["node"],
            ),
        )
    else:
        leaf = Leaf("repository", "findAllByStatus", "")
        hikari = (
            "HikariPool-1 - Connection is not available, request timed out after 30000ms "
            "(total=20, active=20, idle=0, waiting={n})."
        )
        chain = java_chain(
            ctx,
            leaf,
            [
                ("java.sql.SQLTransientConnectionException", hikari),
                (
                    "org.springframework.jdbc.CannotGetJdbcConnectionException",
                    "Failed to obtain JDBC Connection",
                ),
            ],
            (
                f.java(
                    "com.zaxxer.hikari.pool.HikariPool", "createTimeoutException", 686, in_app=False
                ),
            ),
        )
    return error(ctx, chain), f"Connection pool exhausted in {where(ctx)}"


def node_connection_terminated(ctx: Ctx):
    """pg's "Connection terminated unexpectedly": raised from an event emitter, no app frames."""
    frames = (
        f.node_lib("node:events", "Object.onceWrapper", 632, 28),
        f.node_lib("node:events", "Connection.emit", 518, 28),
        f.node_lib(
            "node_modules/pg/lib/connection.js",
            "Socket.<anonymous>",
            61,
            12,
            "      this.emit('end')",
        ),
        f.node_lib("node_modules/pg/lib/client.js", "Connection.<anonymous>", 132, 73),
    )
    exc = ExceptionSpec(
        "Error",
        "Connection terminated unexpectedly",
        frames,
        None,
        {"type": "onunhandledrejection", "handled": False},
    )
    return error(
        ctx, (exc,), level="fatal"
    ), "PostgreSQL connection terminated (no application frames)"


_ALL = ("python", "node", "java")
TEMPLATES = (
    Template("database", "deadlock", "high", _ALL, deadlock, weight=1.2),
    Template("database", "constraint_violation", "medium", _ALL, constraint_violation, weight=1.5),
    Template("database", "connection_lost", "critical", _ALL, connection_lost),
    Template("database", "slow_query", "medium", _ALL, statement_timeout),
    Template("database", "pool_exhausted", "high", _ALL, pool_exhausted, weight=0.8),
    Template(
        "database",
        "connection_lost",
        "critical",
        ("node",),
        node_connection_terminated,
        0.5,
        unique=True,
    ),
)
