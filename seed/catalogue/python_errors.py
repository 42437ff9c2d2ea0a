"""Everyday Python exceptions in a Django/Celery service: KeyError, AttributeError on
None, TypeError, ValueError, IndexError, bad JSON (raised in stdlib frames),
UnicodeDecodeError, and runaway recursion.
"""

from __future__ import annotations

from seed.catalogue import frames as f
from seed.catalogue.codepaths import Leaf
from seed.catalogue.common import FRAMEWORK_MECHANISM, Ctx, Template, error, stack, where
from seed.model import ExceptionSpec, Frame

_KEYS = ("shipping_address", "currency", "tax_id", "line_items", "plan_id", "coupon_code", "locale")
_RELATIONS = ("customer", "billing_address", "current_plan", "warehouse", "carrier", "default_card")
_ATTRS = ("id", "email", "country", "price", "rate", "code")


def _exc(
    ctx: Ctx, kind: str, value: str, leaf: Leaf, raised: tuple[Frame, ...] = (), *, module=None
):
    mechanism = FRAMEWORK_MECHANISM["python"]
    if ctx.path.entry == "worker":
        mechanism = {"type": "celery", "handled": False}
    return ExceptionSpec(kind, value, stack(ctx, leaf, raised), module, mechanism)


def key_error(ctx: Ctx):
    key = ctx.pick(_KEYS)
    leaf = Leaf("payloads", f"extract_{key}", f"    {key} = payload['{key}']")
    return error(ctx, (_exc(ctx, "KeyError", f"'{key}'", leaf),)), f"Missing {key} in {where(ctx)}"


def attribute_error(ctx: Ctx):
    relation, attr = ctx.pick(_RELATIONS), ctx.pick(_ATTRS)
    leaf = Leaf("models", f"{relation}_{attr}", f"        return self.{relation}.{attr}")
    value = f"'NoneType' object has no attribute '{attr}'"
    return error(ctx, (_exc(ctx, "AttributeError", value, leaf),)), (
        f"{ctx.entity}.{relation} is None in {where(ctx)}"
    )


def type_error(ctx: Ctx):
    variants = (
        (
            "        total += line.price * self.tax_rate",
            "unsupported operand type(s) for +=: 'decimal.Decimal' and 'float'",
        ),
        ("        label = self.labels[code]", "'NoneType' object is not subscriptable"),
        (
            "        return render_receipt(order, locale=locale)",
            "render_receipt() got an unexpected keyword argument 'locale'",
        ),
    )
    line, value = ctx.pick(variants)
    leaf = Leaf("calculations", f"compute_{ctx.entity}_total", line)
    return error(ctx, (_exc(ctx, "TypeError", value, leaf),)), f"TypeError in {where(ctx)}"


def value_error(ctx: Ctx):
    variants = (
        (
            "    quantity = int(params.get('quantity', 1))",
            "invalid literal for int() with base 10: '{word}'",
        ),
        (
            "    kind, ref = external_ref.split(':')",
            "not enough values to unpack (expected 2, got 1)",
        ),
        (
            "    when = datetime.strptime(raw, '%Y-%m-%d')",
            "time data '{name}' does not match format '%Y-%m-%d'",
        ),
    )
    line, value = ctx.pick(variants)
    leaf = Leaf("parsing", f"parse_{ctx.entity}_params", line)
    return error(
        ctx, (_exc(ctx, "ValueError", value, leaf),)
    ), f"ValueError parsing input in {where(ctx)}"


def index_error(ctx: Ctx):
    leaf = Leaf(
        "selectors", f"primary_{ctx.entity}_line", f"    return {ctx.entity}.lines.all()[0]"
    )
    raised = (
        f.py_lib(
            "django.db.models.query", "__getitem__", 458, "            return self._result_cache[k]"
        ),
    )
    exc = _exc(ctx, "IndexError", "list index out of range", leaf, raised)
    return error(ctx, (exc,)), f"Empty {ctx.entity} lines in {where(ctx)}"


def json_decode(ctx: Ctx):
    leaf = Leaf("webhooks", f"parse_{ctx.entity}_event", "    return json.loads(body)")
    raised = (
        f.py_lib("json", "loads", 346, "        return _default_decoder.decode(s)", stdlib=True),
        f.py_lib(
            "json.decoder",
            "decode",
            337,
            "        obj, end = self.raw_decode(s, idx=_w(s, 0).end())",
            stdlib=True,
        ),
        f.py_lib(
            "json.decoder",
            "raw_decode",
            353,
            "            obj, end = self.scan_once(s, idx)",
            stdlib=True,
        ),
    )
    value = "Expecting property name enclosed in double quotes: line 1 column {n} (char {position})"
    exc = _exc(ctx, "JSONDecodeError", value, leaf, raised, module="json.decoder")
    return error(ctx, (exc,)), f"Malformed JSON webhook in {where(ctx)}"


def unicode_error(ctx: Ctx):
    leaf = Leaf("imports", f"read_{ctx.entity}_csv", "        text = upload.read().decode('utf-8')")
    value = "'utf-8' codec can't decode byte 0x{hex} in position {position}: invalid start byte"
    exc = _exc(ctx, "UnicodeDecodeError", value, leaf)
    return error(ctx, (exc,)), f"Non-UTF-8 upload in {where(ctx)}"


def recursion(ctx: Ctx):
    module = f"{ctx.path.domain}.tree"
    loop = f.py_app(module, "walk_children", 41, "        total += walk_children(child, depth + 1)")
    leaf = Leaf("tree", "walk_children", "        total += walk_children(child, depth + 1)")
    exc = _exc(ctx, "RecursionError", "maximum recursion depth exceeded", leaf, (loop,) * 40)
    return error(ctx, (exc,)), f"Cyclic {ctx.entity} hierarchy in {where(ctx)}"


_PY = ("python",)
TEMPLATES = (
    Template("python", "key_error", "medium", _PY, key_error, weight=1.4),
    Template("python", "attribute_error", "high", _PY, attribute_error, weight=1.8),
    Template("python", "type_error", "medium", _PY, type_error, weight=1.1),
    Template("python", "value_error", "medium", _PY, value_error),
    Template("python", "index_error", "medium", _PY, index_error, weight=0.7),
    Template("python", "json_decode", "medium", _PY, json_decode, weight=0.6),
    Template("python", "unicode_error", "low", _PY, unicode_error, weight=0.4),
    Template("python", "recursion", "high", _PY, recursion, weight=0.3),
)
