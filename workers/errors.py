"""The workers' error tree. An actor lets errors propagate so Dramatiq retries the
message; what no retry can fix is declared on the actor (`throws=`), so the message
goes to the dead-letter queue at once instead of twenty times later.

WorkerError
├── LifecycleError          an operator action that cannot apply (unknown issue, merging
│                           an issue into itself or across projects); the CLI says so
├── StoredEventsMissing     events a batch names are not (yet) in ClickHouse: retried
├── DeliveryError           a webhook refused or could not be reached: retried
├── SuggestionNotFound      no merge suggestion with this id
└── AIError                 a model failure, recorded as data (workers/ai/errors.py)

A batch that does not decode is core.errors.CorruptMessage: `process_events` throws it.
"""

from __future__ import annotations


class WorkerError(Exception):
    pass


class LifecycleError(WorkerError):
    pass


class StoredEventsMissing(WorkerError):
    pass


class DeliveryError(WorkerError):
    pass


class SuggestionNotFound(WorkerError):
    pass
