"""Root causes from AI-written messages (`--ai`): the model writes the exception type
and message, the catalogue supplies where in the code it is raised.

Placeholders the model invents beyond the known ones become `{id}`, so a
message never needs a value the seeder cannot draw.
"""

from __future__ import annotations

import re

from seed.catalogue.codepaths import Leaf, camel, pascal
from seed.catalogue.common import (
    FRAMEWORK_MECHANISM,
    AIMessage,
    Ctx,
    error,
    literal,
    stack,
    where,
)
from seed.model import ErrorSpec, ExceptionSpec
from seed.pools import FILLERS

_PLACEHOLDER = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
_RAISE = {
    "python": "        raise {type}(message)",
    "node": "    throw new {type}(message);",
    "javascript": "    throw new {type}(message);",
    "java": "",
}


def template_text(message: str) -> str:
    """The model's message as a format template: known placeholders kept, the rest `{id}`."""
    parts = []
    position = 0
    for match in _PLACEHOLDER.finditer(message):
        parts.append(literal(message[position : match.start()]))
        name = match.group(1)
        parts.append("{" + (name if name in FILLERS else "id") + "}")
        position = match.end()
    parts.append(literal(message[position:]))
    return "".join(parts)


def build(ctx: Ctx, message: AIMessage) -> tuple[ErrorSpec, str]:
    module, _, kind = message.type.rpartition(".")
    names = {
        "python": f"{ctx.path.op}_{ctx.entity}",
        "node": f"{camel(ctx.path.op)}{pascal(ctx.entity)}",
        "javascript": f"{camel(ctx.path.op)}{pascal(ctx.entity)}",
        "java": f"check{pascal(ctx.path.op)}",
    }
    leaf = Leaf("rules", names[ctx.platform], _RAISE[ctx.platform].format(type=kind))
    exc = ExceptionSpec(
        kind,
        template_text(message.message),
        stack(ctx, leaf),
        module or None,
        FRAMEWORK_MECHANISM[ctx.platform],
    )
    title = message.title or f"{kind} in {where(ctx)}"
    return error(ctx, (exc,)), title
