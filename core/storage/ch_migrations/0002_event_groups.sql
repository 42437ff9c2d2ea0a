-- The worker's answer for each event: which issue it joined, under which grouping version.
-- The dimensions the hourly rollups need ride along so a materialized view can read them.
CREATE TABLE IF NOT EXISTS event_groups
(
    project_id        UInt64,
    timestamp         DateTime64(3, 'UTC'),
    event_id          UUID,
    group_id          UInt64,
    primary_hash      FixedString(32),
    grouping_version  LowCardinality(String),
    level             LowCardinality(String),
    environment       LowCardinality(String),
    release           String,
    user_key          String,
    -- 1 / the fraction of events the relay kept, to extrapolate counts.
    sample_weight     Float32 DEFAULT 1,
    processed_at      DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(processed_at)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, toStartOfDay(timestamp), cityHash64(event_id))
TTL toDateTime(timestamp) + INTERVAL 1 YEAR
SETTINGS non_replicated_deduplication_window = 100000
