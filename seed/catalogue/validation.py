"""Validation errors: missing fields, bad formats, out-of-range values, unknown enum
values, as pydantic, zod, Bean Validation and the apps' own validators report them.

Validation messages quote the rejected input (names, words, numbers): they vary
in ways parameterization cannot undo, so only the in-app frames group them.
"""

from __future__ import annotations

from seed.catalogue import frames as f
from seed.catalogue.codepaths import JAVA_PACKAGE, Leaf, camel
from seed.catalogue.common import (
    FRAMEWORK_MECHANISM,
    Ctx,
    Template,
    error,
    literal,
    stack,
    where,
)
from seed.catalogue.libraries import java_chain
from seed.model import ExceptionSpec

_FIELDS = {
    "missing_field": (
        ("shipping_address", "string"),
        ("currency", "string"),
        ("customer_id", "number"),
    ),
    "invalid_format": (("email", "{username}"), ("postal_code", "{word}"), ("phone", "{word}")),
    "out_of_range": (
        ("quantity", "{position}"),
        ("discount_percent", "{position}"),
        ("amount", "-{amount}"),
    ),
    "schema": (("status", "{word}"), ("country", "{city}"), ("plan", "{word}")),
}
_PYDANTIC = {
    "missing_field": "Field required [type=missing, input_value={{'id': {id}}}, input_type=dict]",
    "invalid_format": (
        "value is not a valid email address: An email address must have an @-sign. "
        "[type=value_error, input_value='{value}', input_type=str]"
    ),
    "out_of_range": (
        "Input should be less than or equal to 99 "
        "[type=less_than_equal, input_value={value}, input_type=int]"
    ),
    "schema": (
        "Input should be 'pending', 'active' or 'closed' "
        "[type=enum, input_value='{value}', input_type=str]"
    ),
}
_ZOD = {
    "missing_field": (
        '"code": "invalid_type",',
        '"expected": "{kind}",',
        '"received": "undefined",',
        '"message": "Required"',
    ),
    "invalid_format": (
        '"validation": "email",',
        '"code": "invalid_string",',
        '"message": "Invalid email"',
    ),
    "out_of_range": (
        '"code": "too_big",',
        '"maximum": 99,',
        '"type": "number",',
        '"inclusive": true,',
        '"message": "Number must be less than or equal to 99"',
    ),
    "schema": (
        '"received": "{value}",',
        '"code": "invalid_enum_value",',
        '"options": ["pending", "active", "closed"],',
        '"message": "Invalid enum value"',
    ),
}
_BEAN = {
    "missing_field": "must not be null",
    "invalid_format": "must be a well-formed email address",
    "out_of_range": "must be less than or equal to 99",
    "schema": 'must match "pending|active|closed"',
}


def _python(ctx: Ctx, category: str, field: str, value: str):
    model = f"{ctx.model}Request"
    leaf = Leaf(
        "schemas", f"parse_{ctx.entity}_request", f"        return {model}.model_validate(payload)"
    )
    raised = (
        f.py_lib(
            "pydantic.main",
            "model_validate",
            596,
            "        return cls.__pydantic_validator__.validate_python(",
        ),
    )
    detail = _PYDANTIC[category].replace("{value}", value)
    message = (
        f"1 validation error for {model}\n{field}\n  {detail}\n"
        f"    For further information visit https://errors.pydantic.dev/2.9/v/{category}"
    )
    return ExceptionSpec(
        "ValidationError",
        message,
        stack(ctx, leaf, raised),
        "pydantic_core._pydantic_core",
        FRAMEWORK_MECHANISM["python"],
    )


def _zod_message(category: str, field: str, value: str) -> str:
    lines = [
        line.replace("{kind}", value if category == "missing_field" else "string")
        for line in _ZOD[category]
    ]
    lines = [literal(line).replace("{{value}}", value) for line in lines]
    body = "\n    ".join([*lines[:-1], f'"path": [\n      "{field}"\n    ],', lines[-1]])
    return "[\n  {{\n    " + body + "\n  }}\n]"


def _node(ctx: Ctx, category: str, field: str, value: str):
    leaf = Leaf(
        "validator", f"parse{ctx.model}Input", f"  return {camel(ctx.entity)}Schema.parse(input);"
    )
    raised = (f.node_lib("node_modules/zod/lib/types.js", "ZodObject.parse", 131, 23),)
    return ExceptionSpec(
        "ZodError",
        _zod_message(category, field, value),
        stack(ctx, leaf, raised),
        None,
        FRAMEWORK_MECHANISM["node"],
    )


def _java(ctx: Ctx, category: str, field: str, value: str):
    method = f"{camel(ctx.path.op)}{ctx.model}"
    leaf = Leaf("validation", f"validate{ctx.model}", "")
    raised = (
        f.java(
            "org.springframework.validation.beanvalidation.MethodValidationInterceptor",
            "invoke",
            0,
            in_app=False,
        ),
        f.java(
            "org.springframework.validation.beanvalidation.MethodValidationAdapter",
            "applyArgumentValidation",
            260,
            in_app=False,
        ),
    )
    message = f"{method}.request.{camel(field)}: {_BEAN[category]}"
    chain = java_chain(
        ctx, leaf, [("jakarta.validation.ConstraintViolationException", message)], (), raised
    )
    return chain[0]


def _browser(ctx: Ctx, category: str, field: str, value: str):
    leaf = Leaf(
        "forms",
        f"validate{ctx.model}Form",
        f"  return {camel(ctx.entity)}FormSchema.parse(values);",
    )
    raised = (
        f.web(
            "node_modules/zod/lib/index.mjs",
            "ZodObject.parse",
            587,
            19,
            "            throw result.error;",
        ),
    )
    mechanism = {"type": "generic", "handled": True}
    return ExceptionSpec(
        "ZodError", _zod_message(category, field, value), stack(ctx, leaf, raised), None, mechanism
    )


_BUILDERS = {"python": _python, "node": _node, "java": _java, "javascript": _browser}


def _template(category: str):
    def build(ctx: Ctx):
        field, value = ctx.pick(_FIELDS[category])
        exc = _BUILDERS[ctx.platform](ctx, category, field, value)
        level = "warning" if ctx.rng.random() < 0.4 else "error"
        return error(
            ctx, (exc,), level=level, tags={"field": field}
        ), f"{category.replace('_', ' ')} on {field} in {where(ctx)}"

    return build


def java_request_body(ctx: Ctx):
    """@Valid on a request body fails before the controller runs: no in-app frame at all."""
    controller = f"{JAVA_PACKAGE}.{ctx.path.domain}.web.{ctx.model}Controller"
    frames = tuple(
        f.java(cls, method, line, in_app=False)
        for cls, method, line in (
            ("org.springframework.web.servlet.DispatcherServlet", "doDispatch", 1089),
            (
                "org.springframework.web.method.support.InvocableHandlerMethod",
                "getMethodArgumentValues",
                224,
            ),
            (
                "org.springframework.web.method.annotation.HandlerMethodArgumentResolverComposite",
                "resolveArgument",
                122,
            ),
            (
                "org.springframework.web.servlet.mvc.method.annotation.RequestResponseBodyMethodProcessor",
                "resolveArgument",
                159,
            ),
        )
    )
    message = (
        f"Validation failed for argument [0] in public org.springframework.http.ResponseEntity<?> "
        f"{controller}.{camel(ctx.path.op)}({ctx.model}Request): [Field error in object "
        f"'{camel(ctx.entity)}Request' on field 'amount': rejected value [-{{amount}}]; "
        "default message [must be greater than or equal to 0]]"
    )
    exc = ExceptionSpec(
        "MethodArgumentNotValidException",
        message,
        frames,
        "org.springframework.web.bind",
        FRAMEWORK_MECHANISM["java"],
    )
    return error(
        ctx, (exc,), level="warning"
    ), "Request body rejected before any application code ran"


def django_invalid_uuid(ctx: Ctx):
    leaf = Leaf(
        "selectors", f"get_{ctx.entity}", f"    return {ctx.model}.objects.get(public_id=public_id)"
    )
    raised = (
        f.py_lib(
            "django.db.models.fields",
            "to_python",
            2707,
            "                raise exceptions.ValidationError(",
        ),
    )
    message = "['“{word}” is not a valid UUID.']"
    exc = ExceptionSpec(
        "ValidationError",
        message,
        stack(ctx, leaf, raised),
        "django.core.exceptions",
        FRAMEWORK_MECHANISM["python"],
    )
    return error(ctx, (exc,)), f"Invalid public id in {where(ctx)}"


_ALL = ("python", "node", "java", "javascript")
TEMPLATES = (
    Template("validation", "missing_field", "medium", _ALL, _template("missing_field"), weight=1.3),
    Template("validation", "invalid_format", "low", _ALL, _template("invalid_format"), weight=1.2),
    Template("validation", "out_of_range", "low", _ALL, _template("out_of_range")),
    Template("validation", "schema", "medium", _ALL, _template("schema"), weight=0.8),
    Template("validation", "invalid_format", "low", ("python",), django_invalid_uuid, weight=0.6),
    Template("validation", "schema", "low", ("java",), java_request_body, weight=0.5, unique=True),
)
