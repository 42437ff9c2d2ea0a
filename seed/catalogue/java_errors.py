"""Everyday JVM exceptions in a Spring service: helpful NullPointerExceptions, state
and argument checks, bad casts, concurrent modification, parsing, BigDecimal
division and Hibernate's lazy loading outside a session.
"""

from __future__ import annotations

from seed.catalogue import frames as f
from seed.catalogue.codepaths import JAVA_PACKAGE, Leaf, camel, pascal
from seed.catalogue.common import FRAMEWORK_MECHANISM, Ctx, Template, error, stack, where
from seed.model import ExceptionSpec

_RELATIONS = ("Customer", "BillingAddress", "TaxProfile", "PaymentMethod", "Plan")
_GETTERS = ("getId", "getCountry", "getRate", "getCurrency", "getEmail")
_STATES = ("FINALIZED", "VOIDED", "PAID", "CANCELLED")
_ENUMS = ("Currency", "TaxCategory", "PaymentStatus", "InvoiceKind")


def _lib(*frames: tuple[str, str, int]):
    return tuple(f.java(cls, method, line, in_app=False) for cls, method, line in frames)


def _exc(ctx: Ctx, qualified: str, value: str, raised=()) -> ExceptionSpec:
    module, _, name = qualified.rpartition(".")
    leaf = Leaf(ctx.pick(("domain", "calculation", "mapping")), f"apply{pascal(ctx.path.op)}", "")
    return ExceptionSpec(name, value, stack(ctx, leaf, raised), module, FRAMEWORK_MECHANISM["java"])


def null_pointer(ctx: Ctx):
    model = f"{JAVA_PACKAGE}.model"
    relation, getter = ctx.pick(_RELATIONS), ctx.pick(_GETTERS)
    value = (
        f'Cannot invoke "{model}.{relation}.{getter}()" because the return value of '
        f'"{model}.{ctx.model}.get{relation}()" is null'
    )
    exc = _exc(ctx, "java.lang.NullPointerException", value)
    return error(ctx, (exc,)), f"{ctx.model}.get{relation}() null in {where(ctx)}"


def illegal_state(ctx: Ctx):
    value = f"{ctx.model} {{invoice_id}} is already {ctx.pick(_STATES)}"
    exc = _exc(ctx, "java.lang.IllegalStateException", value)
    return error(ctx, (exc,)), f"Invalid {ctx.entity} state transition in {where(ctx)}"


def illegal_argument(ctx: Ctx):
    enum = ctx.pick(_ENUMS)
    raised = _lib(("java.lang.Enum", "valueOf", 293))
    value = f"No enum constant {JAVA_PACKAGE}.model.{enum}.{{word}}"
    exc = _exc(ctx, "java.lang.IllegalArgumentException", value, raised)
    return error(ctx, (exc,)), f"Unknown {enum} value in {where(ctx)}"


def class_cast(ctx: Ctx):
    value = (
        "class java.lang.Integer cannot be cast to class java.lang.Long (java.lang.Integer and "
        "java.lang.Long are in module java.base of loader 'bootstrap')"
    )
    exc = _exc(ctx, "java.lang.ClassCastException", value)
    return error(ctx, (exc,)), f"Integer/Long mix-up in {where(ctx)}"


def concurrent_modification(ctx: Ctx):
    raised = _lib(
        ("java.util.ArrayList$Itr", "next", 1049),
        ("java.util.ArrayList$Itr", "checkForComodification", 1095),
    )
    exc = _exc(ctx, "java.util.ConcurrentModificationException", "", raised)
    return error(ctx, (exc,)), f"List modified while iterating in {where(ctx)}"


def index_out_of_bounds(ctx: Ctx):
    raised = _lib(
        ("java.util.ArrayList", "get", 427),
        ("java.util.Objects", "checkIndex", 385),
        ("jdk.internal.util.Preconditions", "outOfBounds", 100),
    )
    value = "Index {n} out of bounds for length {n}"
    exc = _exc(ctx, "java.lang.IndexOutOfBoundsException", value, raised)
    return error(ctx, (exc,)), f"Index out of bounds in {where(ctx)}"


def number_format(ctx: Ctx):
    raised = _lib(
        ("java.lang.Long", "parseLong", 711),
        ("java.lang.NumberFormatException", "forInputString", 67),
    )
    exc = _exc(ctx, "java.lang.NumberFormatException", 'For input string: "{word}"', raised)
    return error(ctx, (exc,)), f"Unparseable number in {where(ctx)}"


def arithmetic(ctx: Ctx):
    raised = _lib(("java.math.BigDecimal", "divide", 1780))
    value = "Non-terminating decimal expansion; no exact representable decimal result."
    exc = _exc(ctx, "java.lang.ArithmeticException", value, raised)
    return error(ctx, (exc,)), f"BigDecimal.divide without rounding in {where(ctx)}"


def date_parse(ctx: Ctx):
    raised = _lib(
        ("java.time.LocalDate", "parse", 430),
        ("java.time.format.DateTimeFormatter", "parseResolved0", 2108),
    )
    value = "Text '{date}T{position}' could not be parsed, unparsed text found at index 10"
    exc = _exc(ctx, "java.time.format.DateTimeParseException", value, raised)
    return error(ctx, (exc,)), f"Timestamp parsed as a date in {where(ctx)}"


def lazy_initialization(ctx: Ctx):
    collection = ctx.pick(("lines", "payments", "adjustments", "notes"))
    raised = _lib(
        ("org.hibernate.collection.spi.AbstractPersistentCollection", "read", 148),
        (
            "org.hibernate.collection.spi.AbstractPersistentCollection",
            "throwLazyInitializationException",
            635,
        ),
    )
    value = (
        f"failed to lazily initialize a collection of role: {JAVA_PACKAGE}.model.{ctx.model}."
        f"{camel(collection)}: could not initialize proxy - no Session"
    )
    exc = _exc(ctx, "org.hibernate.LazyInitializationException", value, raised)
    return error(ctx, (exc,)), f"{ctx.model}.{collection} loaded outside a session in {where(ctx)}"


_JAVA = ("java",)
TEMPLATES = (
    Template("java", "null_pointer", "high", _JAVA, null_pointer, weight=2.0),
    Template("java", "illegal_state", "medium", _JAVA, illegal_state, weight=1.2),
    Template("java", "illegal_argument", "medium", _JAVA, illegal_argument),
    Template("java", "class_cast", "high", _JAVA, class_cast, weight=0.5),
    Template("java", "concurrent_modification", "high", _JAVA, concurrent_modification, weight=0.6),
    Template("java", "index_out_of_bounds", "medium", _JAVA, index_out_of_bounds, weight=0.7),
    Template("java", "number_format", "low", _JAVA, number_format, weight=0.7),
    Template("java", "arithmetic", "medium", _JAVA, arithmetic, weight=0.5),
    Template("java", "date_parse", "low", _JAVA, date_parse, weight=0.5),
    Template("java", "lazy_initialization", "high", _JAVA, lazy_initialization, weight=0.8),
)
