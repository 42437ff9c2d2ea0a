-- Events as the workers processed them, where that changed them: JavaScript events whose
-- minified frames were resolved with uploaded source maps (the resolved frames, the raw
-- ones kept beside them, and why a frame stayed unresolved). `events` keeps what the
-- relay stored; readers that show or regroup an event prefer this payload when it exists.
CREATE TABLE IF NOT EXISTS processed_events
(
    project_id    UInt64,
    timestamp     DateTime64(3, 'UTC'),
    event_id      UUID,
    processed_at  DateTime64(3, 'UTC'),
    payload       String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(processed_at)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, toStartOfDay(timestamp), cityHash64(event_id))
TTL toDateTime(timestamp) + INTERVAL 1 YEAR
SETTINGS non_replicated_deduplication_window = 100000
