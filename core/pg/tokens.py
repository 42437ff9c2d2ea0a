"""API tokens, the PostgreSQL aggregate: what sentry-cli sends as `Authorization: Bearer`.

Table: api_tokens. A token is printed once when created; only its SHA-256 is stored.
A token names one project (or none: every project) and its scopes, as Sentry's do.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from core.errors import ProjectError
from core.storage.postgres import DbConnection, Pool

TOKEN_PREFIX = "stackwise_"
# What uploading source maps and managing releases need, and what reading them needs.
WRITE_SCOPES = frozenset({"project:releases", "project:write", "project:admin", "org:ci"})
READ_SCOPES = WRITE_SCOPES | {"project:read", "org:read"}
KNOWN_SCOPES = READ_SCOPES
DEFAULT_SCOPES = ("project:releases",)


@dataclass(frozen=True)
class ApiToken:
    id: int
    label: str
    project_id: int | None
    scopes: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    def can_write(self) -> bool:
        return bool(WRITE_SCOPES.intersection(self.scopes))

    def can_read(self) -> bool:
        return bool(READ_SCOPES.intersection(self.scopes))

    def reaches(self, project_id: int) -> bool:
        return self.project_id is None or self.project_id == project_id


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _token(row) -> ApiToken:
    return ApiToken(
        id=row["id"],
        label=row["label"],
        project_id=row["project_id"],
        scopes=tuple(row["scopes"]),
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
    )


def create_token(
    pool: Pool, *, project_id: int | None, scopes: tuple[str, ...], label: str = ""
) -> tuple[str, ApiToken]:
    """A new token: the text (shown once) and its record."""
    unknown = sorted(set(scopes) - KNOWN_SCOPES)
    if unknown or not scopes:
        raise ProjectError(
            f"unknown scope(s) {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(sorted(KNOWN_SCOPES))}"
        )
    text = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO api_tokens (token_hash, label, project_id, scopes) "
            "VALUES (%s, %s, %s, %s) RETURNING *",
            (token_hash(text), label, project_id, list(scopes)),
        ).fetchone()
    assert row is not None
    return text, _token(row)


def authenticate(conn: DbConnection, token: str) -> ApiToken | None:
    """The live token with this text, or None (unknown or revoked)."""
    row = conn.execute(
        "UPDATE api_tokens SET last_used_at = now() WHERE token_hash = %s "
        "AND revoked_at IS NULL RETURNING *",
        (token_hash(token),),
    ).fetchone()
    return _token(row) if row else None


def list_tokens(pool: Pool) -> list[ApiToken]:
    with pool.connection() as conn:
        rows = conn.execute("SELECT * FROM api_tokens ORDER BY id").fetchall()
    return [_token(row) for row in rows]


def revoke_token(pool: Pool, token_id: int) -> ApiToken:
    with pool.connection() as conn:
        row = conn.execute(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = %s "
            "RETURNING *",
            (token_id,),
        ).fetchone()
    if row is None:
        raise ProjectError(f"no token {token_id}")
    return _token(row)
