-- Performance events, kept for 30 days.
CREATE TABLE IF NOT EXISTS transactions
(
    project_id       UInt64,
    timestamp        DateTime64(3, 'UTC'),
    start_timestamp  DateTime64(3, 'UTC'),
    event_id         UUID,
    received_at      DateTime64(3, 'UTC'),
    transaction      String,
    op               LowCardinality(String),
    status           LowCardinality(String),
    duration_ms      Float64,
    release          String,
    environment      LowCardinality(String),
    platform         LowCardinality(String),
    trace_id         String,
    user_key         String,
    sample_rate      Float32 DEFAULT 1,
    payload          String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, toStartOfDay(timestamp), cityHash64(event_id))
TTL toDateTime(timestamp) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 100000
