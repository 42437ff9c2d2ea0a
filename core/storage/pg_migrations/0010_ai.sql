-- AI analysis: analyses waiting for a (re)try, the ledger of model calls, similarity
-- features, similar issues, merge suggestions and anomalies. Answers themselves live on
-- error_groups.ai_summary (0001).

-- An issue whose analysis did not complete (model failure, budget spent, too few events
-- yet): the scheduled retry picks rows whose next_attempt_at has passed. NULL = gave up.
CREATE TABLE ai_pending_analyses (
    group_id         bigint PRIMARY KEY REFERENCES error_groups (id) ON DELETE CASCADE,
    project_id       bigint NOT NULL,
    reason           text NOT NULL,
    kind             text NOT NULL,
    detail           text NOT NULL DEFAULT '',
    failures         integer NOT NULL DEFAULT 1,
    first_failed_at  timestamptz NOT NULL DEFAULT now(),
    last_failed_at   timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz
);
CREATE INDEX ai_pending_analyses_due ON ai_pending_analyses (next_attempt_at)
    WHERE next_attempt_at IS NOT NULL;

-- Every request to a model, successful or not: latency, tokens and cost reports read this.
CREATE TABLE ai_calls (
    id                 bigserial PRIMARY KEY,
    project_id         bigint NOT NULL,
    group_id           bigint,
    purpose            text NOT NULL CHECK (purpose IN ('analysis', 'embedding')),
    model              text NOT NULL,
    prompt_version     text NOT NULL DEFAULT '',
    status             text NOT NULL,
    attempts           integer NOT NULL DEFAULT 1,
    prompt_tokens      integer NOT NULL DEFAULT 0,
    completion_tokens  integer NOT NULL DEFAULT 0,
    latency_ms         double precision NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ai_calls_project_time ON ai_calls (project_id, created_at);

-- What similarity compares: normalized tokens of type + message, frame shingles, and the
-- endpoint's embedding when it has one.
CREATE TABLE ai_group_features (
    group_id          bigint PRIMARY KEY REFERENCES error_groups (id) ON DELETE CASCADE,
    project_id        bigint NOT NULL,
    features_version  text NOT NULL,
    text_tokens       text[] NOT NULL,
    frame_tokens      text[] NOT NULL,
    embedding         real[],
    embedding_model   text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ai_group_features_project ON ai_group_features (project_id, updated_at DESC);

-- The nearest issues of each issue, as last computed.
CREATE TABLE ai_similar_issues (
    group_id          bigint NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    similar_group_id  bigint NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    project_id        bigint NOT NULL,
    score             real NOT NULL,
    method            text NOT NULL CHECK (method IN ('embedding', 'lexical')),
    computed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (group_id, similar_group_id)
);

-- Merges people may accept: the newer issue (source) into the older one (target). Nothing
-- is merged from here unless a person accepts, or the project sets ai.auto_merge.
CREATE TABLE ai_merge_suggestions (
    id               bigserial PRIMARY KEY,
    project_id       bigint NOT NULL,
    source_group_id  bigint NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    target_group_id  bigint NOT NULL REFERENCES error_groups (id) ON DELETE CASCADE,
    score            real NOT NULL,
    method           text NOT NULL CHECK (method IN ('embedding', 'lexical')),
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'accepted', 'rejected')),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    decided_at       timestamptz,
    decided_by       text,
    UNIQUE (source_group_id, target_group_id),
    CHECK (source_group_id <> target_group_id)
);
CREATE INDEX ai_merge_suggestions_pending ON ai_merge_suggestions (project_id, created_at DESC)
    WHERE status = 'pending';

-- Spikes and new surges on the hourly rollups. group_id 0 = the whole project (0, not
-- NULL, so the unique key also holds for project-wide anomalies).
CREATE TABLE ai_anomalies (
    id           bigserial PRIMARY KEY,
    project_id   bigint NOT NULL,
    group_id     bigint NOT NULL DEFAULT 0,
    kind         text NOT NULL CHECK (kind IN ('spike', 'new_surge')),
    start_hour   timestamptz NOT NULL,
    end_hour     timestamptz NOT NULL,
    peak_hour    timestamptz NOT NULL,
    peak_count   double precision NOT NULL,
    baseline     double precision NOT NULL,
    score        double precision NOT NULL,
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged')),
    detected_at  timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (project_id, group_id, kind, start_hour)
);
CREATE INDEX ai_anomalies_recent ON ai_anomalies (project_id, start_hour DESC);

-- The analysis reads a group together with the groups merged into it.
CREATE INDEX IF NOT EXISTS error_groups_merged_into ON error_groups (merged_into)
    WHERE merged_into IS NOT NULL;
