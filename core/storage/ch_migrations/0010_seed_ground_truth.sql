-- Ground truth of seeded traffic (`just seed`): the root cause behind each event.
-- The seeder carries it inside the event as `contexts.seed`; these views copy it out of
-- every insert into `events` and `transactions`, so it is stored the same way whether the
-- events came through the relay or from `seed --direct`. Join on (project_id, event_id).
-- A substring test skips events without `contexts.seed` before any JSON is parsed (stored
-- payloads are compact JSON, written by msgspec). Rows expire with the events they describe.
CREATE TABLE IF NOT EXISTS seed_ground_truth
(
    project_id   UInt64,
    event_id     UUID,
    timestamp    DateTime64(3, 'UTC'),
    -- The event's type: error, default (a message) or transaction.
    type         LowCardinality(String),
    root_cause   LowCardinality(String),
    family       LowCardinality(String),
    category     LowCardinality(String),
    severity     LowCardinality(String),
    title        LowCardinality(String),
    release      LowCardinality(String),
    regression   Bool,
    run          LowCardinality(String),
    received_at  DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree(received_at)
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, event_id)
TTL toDateTime(timestamp) + toIntervalDay(if(type = 'transaction', 30, 365))
SETTINGS non_replicated_deduplication_window = 100000;

CREATE MATERIALIZED VIEW IF NOT EXISTS seed_ground_truth_events_mv TO seed_ground_truth AS
SELECT
    project_id,
    event_id,
    timestamp,
    type,
    tupleElement(truth, 'root_cause') AS root_cause,
    tupleElement(truth, 'family') AS family,
    tupleElement(truth, 'category') AS category,
    tupleElement(truth, 'severity') AS severity,
    tupleElement(truth, 'title') AS title,
    tupleElement(truth, 'release') AS release,
    tupleElement(truth, 'regression') AS regression,
    tupleElement(truth, 'run') AS run,
    received_at
FROM
(
    SELECT
        project_id,
        event_id,
        timestamp,
        type,
        received_at,
        JSONExtract(
            payload, 'contexts', 'seed',
            'Tuple(root_cause String, family String, category String, severity String, title String, release String, regression Bool, run String)'
        ) AS truth
    FROM events
    WHERE position(payload, '"seed":{') > 0
)
WHERE tupleElement(truth, 'root_cause') != '';

CREATE MATERIALIZED VIEW IF NOT EXISTS seed_ground_truth_transactions_mv TO seed_ground_truth AS
SELECT
    project_id,
    event_id,
    timestamp,
    'transaction' AS type,
    tupleElement(truth, 'root_cause') AS root_cause,
    tupleElement(truth, 'family') AS family,
    tupleElement(truth, 'category') AS category,
    tupleElement(truth, 'severity') AS severity,
    tupleElement(truth, 'title') AS title,
    tupleElement(truth, 'release') AS release,
    tupleElement(truth, 'regression') AS regression,
    tupleElement(truth, 'run') AS run,
    received_at
FROM
(
    SELECT
        project_id,
        event_id,
        timestamp,
        received_at,
        JSONExtract(
            payload, 'contexts', 'seed',
            'Tuple(root_cause String, family String, category String, severity String, title String, release String, regression Bool, run String)'
        ) AS truth
    FROM transactions
    WHERE position(payload, '"seed":{') > 0
)
WHERE tupleElement(truth, 'root_cause') != ''
