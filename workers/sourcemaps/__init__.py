"""Source maps: minified JavaScript frames resolved before grouping, as Sentry does.

`resolver.SourceMapResolver` takes a batch's events and returns them with resolved
frames (`probe` -> `locate` -> `maps` -> `frames`). Files come from the artifact folder
(`core.artifacts.store`), their index from PostgreSQL (`core.pg.artifacts`).
"""

from workers.sourcemaps.resolver import Resolved, SourceMapResolver

__all__ = ["Resolved", "SourceMapResolver"]
