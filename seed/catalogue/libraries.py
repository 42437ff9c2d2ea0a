"""Library frames and exception chains shared by families: Django + psycopg,
Prisma and pg, Spring + JDBC. Each chain is ordered as Sentry orders it: the
cause first, the exception the framework caught last.
"""

from __future__ import annotations

from seed.catalogue import frames as f
from seed.catalogue.codepaths import Leaf, camel
from seed.catalogue.common import FRAMEWORK_MECHANISM, Ctx, stack
from seed.model import ExceptionSpec, Frame

PRISMA = "node_modules/@prisma/client/runtime/library.js"
PY_QUERY = (
    f.py_lib("django.db.models.query", "__iter__", 400, "        self._fetch_all()"),
    f.py_lib(
        "django.db.models.query",
        "_fetch_all",
        1928,
        "            self._result_cache = list(self._iterable_class(self))",
    ),
    f.py_lib(
        "django.db.models.sql.compiler",
        "execute_sql",
        1574,
        "            cursor.execute(sql, params)",
    ),
)
PY_SAVE = (
    f.py_lib("django.db.models.base", "save", 891, "        self.save_base("),
    f.py_lib(
        "django.db.models.base", "_save_table", 1067, "            results = self._do_insert("
    ),
    f.py_lib(
        "django.db.models.sql.compiler",
        "execute_sql",
        1823,
        "                cursor.execute(sql, params)",
    ),
)
PY_EXECUTE = (
    f.py_lib(
        "django.db.backends.utils", "execute", 79, "        return self._execute_with_wrappers("
    ),
    f.py_lib(
        "django.db.backends.utils", "_execute", 100, "        with self.db.wrap_database_errors:"
    ),
    f.py_lib(
        "django.db.utils",
        "__exit__",
        91,
        "                raise dj_exc_value.with_traceback(traceback) from exc_value",
    ),
)
PY_CAUSE = (
    f.py_lib(
        "django.db.backends.utils",
        "_execute",
        105,
        "                return self.cursor.execute(sql, params)",
    ),
    f.py_lib("psycopg.cursor", "execute", 97, "            raise ex.with_traceback(None)"),
)
JDBC = tuple(
    f.java(cls, method, line, in_app=False)
    for cls, method, line in (
        ("org.springframework.jdbc.core.JdbcTemplate", "update", 1001),
        ("org.springframework.jdbc.core.JdbcTemplate", "execute", 658),
        ("org.springframework.jdbc.core.JdbcTemplate", "translateException", 1570),
        ("org.springframework.jdbc.support.SQLErrorCodeSQLExceptionTranslator", "doTranslate", 243),
    )
)
PGJDBC = tuple(
    f.java(cls, method, line, in_app=False)
    for cls, method, line in (
        ("org.springframework.jdbc.core.JdbcTemplate", "update", 1001),
        ("org.springframework.jdbc.core.JdbcTemplate", "execute", 651),
        ("com.zaxxer.hikari.pool.HikariProxyPreparedStatement", "executeUpdate", 61),
        ("org.postgresql.jdbc.PgPreparedStatement", "executeUpdate", 139),
        ("org.postgresql.jdbc.PgStatement", "executeInternal", 502),
        ("org.postgresql.core.v3.QueryExecutorImpl", "execute", 372),
        ("org.postgresql.core.v3.QueryExecutorImpl", "receiveErrorResponse", 2725),
    )
)


def chained(index: int, count: int, top: dict) -> dict:
    """The mechanism of the index-th exception of a chain (cause first); ids as sentry-python."""
    if index == count - 1:
        return {**top, "exception_id": 0}
    return {
        "type": "chained",
        "handled": True,
        "source": "__cause__",
        "exception_id": count - 1 - index,
        "parent_id": count - 2 - index,
    }


def python_chain(ctx: Ctx, leaf: Leaf, *, cause: tuple[str, str], outer: str, message: str, lib):
    """psycopg raises, Django re-raises as django.db.utils.<outer> "from" it."""
    cause_module, cause_type = cause
    top = FRAMEWORK_MECHANISM["python"]
    return (
        ExceptionSpec(cause_type, message, PY_CAUSE, cause_module, chained(0, 2, top)),
        ExceptionSpec(
            outer,
            message,
            stack(ctx, leaf, (*lib, *PY_EXECUTE)),
            "django.db.utils",
            chained(1, 2, top),
        ),
    )


def java_chain(
    ctx: Ctx,
    leaf: Leaf,
    chain: list[tuple[str, str]],
    raised: tuple[Frame, ...],
    translated: tuple[Frame, ...] = JDBC,
):
    """The driver's exception first (its stack reaches the driver), Spring's last.

    sentry-java reports each exception of the chain with its whole stack: the
    causes were created deep in the driver (`raised`), Spring's wrapper where it
    translated them (`translated`).
    """
    out = []
    count = len(chain)
    for index, (qualified, message) in enumerate(chain):
        module, _, name = qualified.rpartition(".")
        frames = stack(ctx, leaf, translated if index == count - 1 else raised)
        mechanism = chained(index, count, FRAMEWORK_MECHANISM["java"])
        out.append(ExceptionSpec(name, message, frames, module, mechanism))
    return tuple(out)


def prisma_error(ctx: Ctx, leaf: Leaf, operation: str, detail: str) -> ExceptionSpec:
    message = f"\nInvalid `prisma.{camel(ctx.entity)}.{operation}()` invocation:\n\n\n{detail}"
    raised = (
        f.node_lib(PRISMA, "async l", 130, 9633),
        f.node_lib(PRISMA, "Un.request", 121, 6307),
        f.node_lib(PRISMA, "Un.handleRequestError", 121, 7815),
    )
    return ExceptionSpec(
        "PrismaClientKnownRequestError",
        message,
        stack(ctx, leaf, raised),
        None,
        FRAMEWORK_MECHANISM["node"],
    )
