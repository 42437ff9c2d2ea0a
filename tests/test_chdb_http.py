"""The embedded ClickHouse over HTTP answers clickhouse-connect as a server would, including
queries whose bound parameters are large enough to be sent as a multipart form."""

from __future__ import annotations

import uuid

import clickhouse_connect
import pytest

from core.storage import chdb_http
from tests.support.relay_thread import free_port


@pytest.fixture
def http_client(chdb_dir):
    # chdb opens one folder per process: the session's, with a database of this test's.
    port = free_port()
    server = chdb_http.serve_in_background(str(chdb_dir), "127.0.0.1", port)
    database = f"http_{uuid.uuid4().hex[:12]}"
    admin = clickhouse_connect.get_client(dsn=f"http://127.0.0.1:{port}")
    admin.command(f"CREATE DATABASE {database}")
    client = clickhouse_connect.get_client(dsn=f"http://127.0.0.1:{port}", database=database)
    yield client
    client.close()
    admin.command(f"DROP DATABASE {database}")
    admin.close()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("count", [3, 1_000])
def test_bound_id_lists_small_and_large_select_the_same_rows(http_client, count):
    http_client.command("CREATE TABLE IF NOT EXISTS ids (id UUID) ENGINE = MergeTree ORDER BY id")
    ids = [uuid.uuid4().hex for _ in range(count)]
    http_client.command(
        f"INSERT INTO ids SELECT arrayJoin([{', '.join(repr(i) for i in ids[::2])}])"
    )
    found = http_client.query(
        "SELECT count() FROM ids WHERE id IN {ids:Array(UUID)} AND 1 = {one:UInt8}",
        parameters={"ids": ids, "one": 1},
    ).result_rows[0][0]
    assert found == len(ids[::2])
