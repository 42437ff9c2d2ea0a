-- Source maps uploaded with sentry-cli: API tokens, releases, artifact bundles and the
-- index of their files. The files themselves are content-addressed on disk
-- (core/artifacts/store.py); these tables say which project may use which file, and
-- how an event finds it: by debug id, or by release, dist and URL.

CREATE TABLE api_tokens (
    id            bigserial PRIMARY KEY,
    -- sha256 of the token: the token itself is printed once and never stored.
    token_hash    bytea NOT NULL UNIQUE,
    label         text NOT NULL DEFAULT '',
    -- NULL: every project of the deployment (Sentry's organization tokens).
    project_id    bigint REFERENCES projects (id) ON DELETE CASCADE,
    scopes        text[] NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

-- A release created with `sentry-cli releases new` before any event: first_seen is
-- then its creation; `finalize` sets date_released.
ALTER TABLE releases
    ADD COLUMN date_started   timestamptz,
    ADD COLUMN date_released  timestamptz;

CREATE TABLE artifact_bundles (
    id           bigserial PRIMARY KEY,
    project_id   bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- sha1 of the bundle's zip, as sentry-cli names it in assemble requests.
    checksum     text NOT NULL,
    -- The bundle's own id from its manifest (not the files' debug ids).
    bundle_id    text NOT NULL DEFAULT '',
    release      text NOT NULL DEFAULT '',
    dist         text NOT NULL DEFAULT '',
    file_count   integer NOT NULL,
    size_bytes   bigint NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    -- Retention counts from the later of upload and last use by an event.
    last_used_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, checksum)
);

CREATE TABLE artifact_files (
    bundle_id   bigint NOT NULL REFERENCES artifact_bundles (id) ON DELETE CASCADE,
    project_id  bigint NOT NULL,
    -- 'minified_source', 'source_map', 'source', ... (the manifest's type).
    type        text NOT NULL,
    -- The file's URL in the manifest: '~/static/app.min.js' or a full URL.
    url         text NOT NULL,
    debug_id    uuid,
    release     text NOT NULL DEFAULT '',
    dist        text NOT NULL DEFAULT '',
    -- The `sourcemap` header: where a minified file's map is, relative to its URL.
    sourcemap   text NOT NULL DEFAULT '',
    -- sha1 of the contents: the file's name in the content-addressed store.
    sha1        text NOT NULL,
    size_bytes  bigint NOT NULL,
    PRIMARY KEY (bundle_id, url)
);

CREATE INDEX artifact_files_debug_id ON artifact_files (project_id, debug_id)
    WHERE debug_id IS NOT NULL;
CREATE INDEX artifact_files_release_url ON artifact_files (project_id, release, dist, url);
CREATE INDEX artifact_files_sha1 ON artifact_files (sha1);
