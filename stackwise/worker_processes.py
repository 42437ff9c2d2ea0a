"""One of `worker --processes N`'s Dramatiq processes: `dramatiq stackwise.worker_processes:boot`.

Dramatiq's command line forks the processes and calls `boot` in each, before its worker
threads start: the process opens its own stack (its PostgreSQL pool, Redis and ClickHouse
clients), declares the actors on its broker, and closes the stack when Dramatiq stops it.
Several processes grouping batches at once is safe by construction: every write is an
upsert on a unique key (see core.pg.issues.batch).
"""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import Middleware

from core.runtime import Stack, open_stack
from core.settings import load_settings


class _CloseStack(Middleware):
    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self.stack.close()


def boot() -> None:
    from stackwise.serve import stack_broker, warm_arrow
    from workers.actors import declare_actors
    from workers.context import WorkerContext

    stack = open_stack(load_settings())
    broker = stack_broker(stack)
    broker.add_middleware(_CloseStack(stack))
    dramatiq.set_broker(broker)
    declare_actors(broker, WorkerContext(stack))
    warm_arrow()
