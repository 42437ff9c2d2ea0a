"""Synthetic production traffic with ground truth: `python -m stackwise seed`.

The pipeline, one module per step:

    projects     the services the seeder pretends to be, with their SDKs
    catalogue/   root causes (one module per family), each a frozen description of
                 the code path, exception chain or slow transaction that produces it
    releases     each project's deploys; a root cause appears, is fixed and
                 regresses at releases
    timeline     daily totals (base +-20%, ~10% spike days at 5-20x), a daily
                 cycle, incident bursts -> hours -> generation units
    plan         everything above, rebuilt identically from the options (worker
                 processes rebuild it instead of receiving it)
    pools        Faker-made users and words, drawn per event
    shapes       the per-release parts of a root cause's events, serialized once
    render       one root cause + time + release -> an SDK-shaped event dict
                 (payloads: per-SDK pieces; spans: transactions)
    generate     a unit -> its events, in time order, from the unit's own RNG
    envelopes    events -> the HTTP requests each SDK would send
    deliver_http real envelopes to the relay (http1: keep-alive connections)
    deliver_direct + direct_rows   rows straight into ClickHouse, named batches
                 for the workers
    ai_messages  AI-written error messages (`--ai`), cached under fixtures/seed/
    summary      counts, progress bar, final table

Ground truth rides inside each event as `contexts.seed`; a materialized view
copies it into `seed_ground_truth` whichever way the event was stored.
Everything is a function of the options: the same `--seed` and `--end` give
byte-identical events (only the envelope's `sent_at` is wall-clock time).
"""
