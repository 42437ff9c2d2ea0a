-- Projects, their DSN keys, issues (error groups) and their occurrences, daily stats.

CREATE TABLE projects (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9_-]*$'),
    name        text NOT NULL,
    -- Everything operators tune per project (rate limits, sampling, inbound filters,
    -- fingerprint and stack-trace rules, AI settings): one validated JSON document.
    config      jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE project_keys (
    public_key  text PRIMARY KEY CHECK (public_key ~ '^[0-9a-f]{32}$'),
    project_id  bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    label       text NOT NULL DEFAULT 'default',
    is_active   boolean NOT NULL DEFAULT true,
    -- Per-key overrides (rate limits); empty means "the project's".
    config      jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX project_keys_project ON project_keys (project_id);
CREATE INDEX project_keys_updated ON project_keys (updated_at);

CREATE TABLE error_groups (
    id                  bigserial PRIMARY KEY,
    project_id          bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    fingerprint_hash    char(32) NOT NULL,
    grouping_version    text NOT NULL,
    title               text NOT NULL DEFAULT '',
    culprit             text NOT NULL DEFAULT '',
    level               text NOT NULL DEFAULT 'error',
    exception_type      text NOT NULL DEFAULT '',
    status              text NOT NULL DEFAULT 'unresolved'
                        CHECK (status IN ('unresolved', 'resolved', 'ignored')),
    substatus           text NOT NULL DEFAULT 'new',
    first_seen          timestamptz NOT NULL,
    last_seen           timestamptz NOT NULL,
    times_seen          bigint NOT NULL DEFAULT 0,
    metadata            jsonb NOT NULL DEFAULT '{}'::jsonb,
    assignee            text,
    ai_summary          jsonb,
    merged_into         bigint REFERENCES error_groups (id),
    created_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, fingerprint_hash, grouping_version)
);
CREATE INDEX error_groups_project_last_seen ON error_groups (project_id, last_seen DESC);

-- Every hash an event produced points at the group it joined (Sentry's GroupHash):
-- merges move hashes, so later events follow the merge.
CREATE TABLE group_hashes (
    project_id        bigint NOT NULL,
    grouping_version  text NOT NULL,
    hash              char(32) NOT NULL,
    group_id          bigint NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, grouping_version, hash)
);
CREATE INDEX group_hashes_group ON group_hashes (group_id);

CREATE TABLE error_occurrences (
    id          bigserial PRIMARY KEY,
    project_id  bigint NOT NULL,
    group_id    bigint NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    event_id    uuid NOT NULL,
    occurred_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    UNIQUE (project_id, event_id)
);
CREATE INDEX error_occurrences_group_time ON error_occurrences (group_id, occurred_at DESC);

CREATE TABLE project_stats (
    project_id           bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    date                 date NOT NULL,
    error_count          bigint NOT NULL DEFAULT 0,
    unique_errors        bigint NOT NULL DEFAULT 0,
    new_issues           bigint NOT NULL DEFAULT 0,
    performance_metrics  jsonb NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (project_id, date)
);
