"""One small seeded dataset for the workbench tests, built once per test session.

The real path end to end: the seeder's direct mode stores events in ClickHouse (ground
truth via the materialized view), the workers group them into issues in PostgreSQL and
write assignments (and through them the hourly rollups), and analyze new issues with an
OpenAI-protocol model served locally (`tests.support.openai_server`) that answers like a
plausible, imperfect model. Then `analysis.export` writes the Parquet export that the
notebook tests read. Both test folders' conftests ask `seeded_dataset()` for it; the
first builds it, the session's end tears it down.
"""

from __future__ import annotations

import re
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import msgspec

from analysis.clickhouse_source import ClickHouseSource
from analysis.export import export
from analysis.parquet_source import ParquetSource
from core.runtime import Stack, open_stack
from seed.deliver_direct import load_direct
from seed.plan import SeedOptions, today_utc
from seed.projects import SEED_PROJECTS, ensure_seed_projects
from stackwise.serve import running_workers, stack_broker
from tests.conftest import fresh_postgres, fresh_redis_namespace, make_settings
from tests.support.openai_server import OpenAIServer, Reply, chat_reply

OPTIONS = {"events": 2_500, "days": 30, "root_causes": 60, "seed": 11}
_CATEGORY_WORDS = (
    ("database", r"sql|database|deadlock|integrity|psycopg|pool|query|cursor"),
    ("network", r"connection|timeout|timed out|socket|dns|refused"),
    ("external_api", r"http|status code|upstream|gateway|stripe|payment provider|5\d\d"),
    ("validation", r"valid|schema|parse|value ?error|key ?error|missing field"),
    ("auth", r"auth|permission|forbidden|token|credential"),
    ("frontend", r"chunk|hydration|undefined is not|cannot read propert|react"),
    ("resource", r"memory|disk|quota|exhausted"),
)


def _answer(prompt: str) -> str:
    """A model-like analysis from the prompt: keywords pick a category and a severity."""
    title = re.search(r"^Issue: (.*)$", prompt, re.M)
    culprit = re.search(r"^Culprit: (.*)$", prompt, re.M)
    issue = title.group(1) if title else "this error"
    where = culprit.group(1) if culprit else "unknown code"
    lowered = prompt.lower()
    category = next((c for c, words in _CATEGORY_WORDS if re.search(words, lowered)), "code")
    severity = (
        "high" if re.search(r"fatal|deadlock|exhausted|5\d\d|unhandled", lowered) else "medium"
    )
    answer = {
        "summary": f"{issue} raised in {where}.",
        "likely_cause": f"A {category} problem reached {where}.",
        "suggested_fix": "Handle the failure where it is raised and add a test for it.",
        "severity": severity,
        "category": category,
    }
    return msgspec.json.encode(answer).decode()


def _model(request) -> Reply:
    return chat_reply(_answer(request.prompt_text), model="test-model")(request)


@dataclass
class SeededDataset:
    stack: Stack
    export_dir: Path
    options: SeedOptions

    def live(self) -> ClickHouseSource:
        return ClickHouseSource.from_stack(self.stack, label="test ClickHouse")

    def parquet(self) -> ParquetSource:
        return ParquetSource(self.export_dir)


_built: dict[str, SeededDataset] = {}
_teardown = ExitStack()


def _wait_idle(broker, queues: list[str], timeout_s: float = 120.0) -> None:
    """Until every queue (waiting, delayed and in flight) stays empty twice in a row."""
    deadline = time.monotonic() + timeout_s
    quiet = 0
    while quiet < 2:
        assert time.monotonic() < deadline, "workers did not finish the seeded dataset"
        busy = sum(broker.do_qsize(q) for q in queues)
        quiet = quiet + 1 if busy == 0 else 0
        time.sleep(0.2)


def _build(chdb_dir: Path, template: str, base: Path) -> SeededDataset:
    server = _teardown.enter_context(OpenAIServer())
    server.chat_default = _model
    postgres_url = _teardown.enter_context(fresh_postgres(template))
    namespace = _teardown.enter_context(fresh_redis_namespace("redis://127.0.0.1:6379/0"))
    settings = msgspec.structs.replace(
        make_settings(base / "data", postgres_url, namespace, chdb_dir),
        clickhouse_database=f"wb_{uuid.uuid4().hex[:10]}",
        openai_base_url=server.base_url,
        openai_api_key="test",
        openai_model="test-model",
    )
    stack = open_stack(settings)
    _teardown.callback(stack.close)
    _teardown.callback(
        lambda: stack.clickhouse().command(
            f"DROP DATABASE IF EXISTS `{settings.clickhouse_database}`"
        )
    )
    # ClickHouse measures columns one by one only in wide parts; a data set this small would
    # stay in compact parts, where every column reports 0 bytes and the storage figures
    # (and their order) mean nothing.
    stack.clickhouse().command("ALTER TABLE events MODIFY SETTING min_bytes_for_wide_part = 0")
    options = SeedOptions(**OPTIONS, end=today_utc())
    provisioned = ensure_seed_projects(stack.pool, SEED_PROJECTS)
    project_ids = {key: p.project.id for key, p in provisioned.items()}
    broker = stack_broker(stack)
    load_direct(stack, broker, options, project_ids, workers=0, on_unit=lambda result: None)
    with running_workers(stack, broker, schedule=False):
        _wait_idle(broker, [settings.queue_name, f"{settings.queue_name}-ai"])
    export_dir = base / "export"
    export(ClickHouseSource.from_stack(stack, label="seeded test data"), export_dir)
    return SeededDataset(stack, export_dir, options)


def seeded_dataset(chdb_dir: Path, template: str, base: Path) -> SeededDataset:
    if "dataset" not in _built:
        _built["dataset"] = _build(chdb_dir, template, base)
    return _built["dataset"]


def close_dataset() -> None:
    _built.clear()
    _teardown.close()
