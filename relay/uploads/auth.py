"""API tokens on the upload API: who is asking, and which projects they may touch.

No token, an unknown or a revoked one: 401. A token without the scope the request
needs, or naming another project: 403. Both with a JSON `detail`, as Sentry answers.
"""

from __future__ import annotations

import asyncio

from sanic import Request

from core.pg import projects
from core.pg.tokens import ApiToken, authenticate
from relay.errors import Forbidden, NotFound, Unauthorized
from relay.uploads.deps import UploadDeps


def deps_of(request: Request) -> UploadDeps:
    return request.app.ctx.uploads


async def authorized(request: Request, *, write: bool) -> ApiToken:
    scheme, _, text = request.headers.get("authorization", "").partition(" ")
    text = text.strip()
    if scheme.lower() != "bearer" or not text:
        raise Unauthorized("authentication credentials were not provided (Authorization: Bearer)")

    def lookup() -> ApiToken | None:
        with deps_of(request).pool.connection() as conn:
            return authenticate(conn, text)

    token = await asyncio.to_thread(lookup)
    if token is None:
        raise Unauthorized("invalid or revoked token")
    if not (token.can_write() if write else token.can_read()):
        needed = "project:releases" if write else "project:read"
        raise Forbidden(f"this token lacks the scope this needs ({needed})")
    return token


async def project_ids(request: Request, token: ApiToken, slugs: list[str]) -> dict[str, int]:
    """The projects named, each reachable by the token; none named: every one it reaches."""

    def lookup() -> dict[str, int]:
        with deps_of(request).pool.connection() as conn:
            if slugs:
                return projects.ids_for_slugs(conn, slugs)
            every = projects.slugs(conn)
            return {slug: project_id for project_id, slug in every.items()}

    found = await asyncio.to_thread(lookup)
    if not slugs:
        return {slug: p for slug, p in found.items() if token.reaches(p)}
    if token.project_id is not None:
        # Unknown or another's: the same answer, so a token learns nothing of other projects.
        outside = sorted(slug for slug in slugs if found.get(slug) != token.project_id)
        if outside:
            raise Forbidden(f"this token does not reach project {', '.join(outside)}")
    unknown = sorted(set(slugs) - set(found))
    if unknown:
        raise NotFound(f"no project {', '.join(repr(s) for s in unknown)}")
    return found
