-- Release health: individual session updates and pre-aggregated session counts,
-- one row per status with its quantity, so crash-free rates are sums.
CREATE TABLE IF NOT EXISTS sessions
(
    project_id    UInt64,
    received_at   DateTime64(3, 'UTC'),
    started       DateTime64(3, 'UTC'),
    session_id    String,
    distinct_id   String,
    release       String,
    environment   LowCardinality(String),
    status        LowCardinality(String),
    errors        UInt32,
    duration_s    Float64,
    init          UInt8,
    quantity      UInt32
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(started)
ORDER BY (project_id, release, started)
TTL toDateTime(started) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 100000
