-- Attachments as sent (bytes and item headers), tied to their event.
CREATE TABLE IF NOT EXISTS attachments
(
    project_id       UInt64,
    event_id         UUID,
    received_at      DateTime64(3, 'UTC'),
    position         UInt16,
    name             String,
    content_type     LowCardinality(String),
    attachment_type  LowCardinality(String),
    size             UInt64,
    item_headers     String,
    data             String CODEC(ZSTD(3))
)
ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(received_at)
ORDER BY (project_id, event_id, position)
TTL toDateTime(received_at) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 100000
