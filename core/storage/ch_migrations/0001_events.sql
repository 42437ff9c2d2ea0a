-- Raw events as the relay stored them, with the columns queries filter on promoted.
-- Sentry's errors table is the model: ordered for project + time scans, deduplicated by
-- event id, and insert tokens make a replayed spool batch a no-op.
CREATE TABLE IF NOT EXISTS events
(
    project_id       UInt64,
    timestamp        DateTime64(3, 'UTC'),
    event_id         UUID,
    received_at      DateTime64(3, 'UTC'),
    type             LowCardinality(String),
    level            LowCardinality(String),
    platform         LowCardinality(String),
    release          String,
    environment      LowCardinality(String),
    logger           LowCardinality(String),
    transaction      String,
    exception_type   String,
    exception_value  String,
    message          String,
    user_key         String,
    sdk_name         LowCardinality(String),
    sdk_version      LowCardinality(String),
    trace_id         String,
    tags             Map(String, String),
    sample_rate      Float32 DEFAULT 1,
    payload          String CODEC(ZSTD(3)),
    INDEX event_id_bloom event_id TYPE bloom_filter(0.01) GRANULARITY 4
)
ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, toStartOfDay(timestamp), cityHash64(event_id))
TTL toDateTime(timestamp) + INTERVAL 1 YEAR
SETTINGS non_replicated_deduplication_window = 100000
