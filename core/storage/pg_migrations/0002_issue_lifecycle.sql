-- Issue lifecycle (resolve, ignore, regress, merge), what an issue has been seen with,
-- and the activity log that notifications and people read.

ALTER TABLE error_groups
    ADD COLUMN users_seen           bigint NOT NULL DEFAULT 0,
    ADD COLUMN resolved_at          timestamptz,
    -- 'now': any later event regresses; 'next_release': only events from a release
    -- first seen after the resolution do.
    ADD COLUMN resolution           text CHECK (resolution IN ('now', 'next_release')),
    ADD COLUMN ignored_at           timestamptz,
    ADD COLUMN ignore_until         timestamptz,
    -- Ignored until times_seen reaches this count.
    ADD COLUMN ignore_until_count   bigint,
    ADD COLUMN regressed_at         timestamptz,
    ADD COLUMN times_regressed      integer NOT NULL DEFAULT 0,
    -- The first event's payload: explains the grouping without a ClickHouse read.
    ADD COLUMN sample_event         bytea;

CREATE TABLE group_users (
    group_id  bigint NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    user_key  text NOT NULL,
    PRIMARY KEY (group_id, user_key)
);

CREATE TABLE group_releases (
    group_id     bigint NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    release      text NOT NULL,
    environment  text NOT NULL,
    first_seen   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    times_seen   bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (group_id, release, environment)
);

-- Releases of a project in the order they appeared (for "resolved in next release").
CREATE TABLE releases (
    project_id  bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    version     text NOT NULL,
    first_seen  timestamptz NOT NULL,
    PRIMARY KEY (project_id, version)
);

CREATE TABLE group_activity (
    id          bigserial PRIMARY KEY,
    group_id    bigint NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    project_id  bigint NOT NULL,
    -- first_seen, regression, resolved, unresolved, ignored, unignored, merged, threshold
    kind        text NOT NULL,
    data        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX group_activity_group ON group_activity (group_id, created_at DESC);
CREATE INDEX group_activity_recent ON group_activity (project_id, created_at DESC);

-- Notifications waiting for (or given up on) delivery; delivery never blocks grouping.
CREATE TABLE notifications (
    id            bigserial PRIMARY KEY,
    project_id    bigint NOT NULL,
    group_id      bigint,
    kind          text NOT NULL,
    payload       jsonb NOT NULL,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'delivered', 'failed', 'logged')),
    attempts      integer NOT NULL DEFAULT 0,
    last_error    text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    -- One notification per (kind, subject, period): a retried batch does not repeat it.
    dedup_key     text NOT NULL UNIQUE
);
CREATE INDEX notifications_pending ON notifications (status, created_at) WHERE status = 'pending';
