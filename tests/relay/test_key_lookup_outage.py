"""Keys while PostgreSQL is unreachable: known keys keep working, an unseen one is a 503.

The relay's pool reaches the machine's PostgreSQL through a TcpProxy the test cuts.
Before the fix, a key the cache had not seen yet was answered 403 "unknown public key"
during the outage, and the SDK dropped the event.
"""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from core.pg.projects import add_key, create_project
from core.storage.postgres import open_pool
from relay.errors import Unavailable
from relay.project_cache import ProjectCache
from tests.support.tcp_proxy import TcpProxy


def test_a_key_the_relay_never_saw_is_answered_503_while_postgresql_is_away(postgres_url):
    direct = open_pool(postgres_url, max_size=1)
    parts = psycopg.conninfo.conninfo_to_dict(postgres_url)
    proxy = TcpProxy("127.0.0.1", int(parts["port"])).start()
    through_proxy = open_pool(
        f"postgresql://postgres@127.0.0.1:{proxy.port}/{parts['dbname']}", max_size=2
    )
    try:
        project, known = create_project(direct, "keys-outage")
        cache = ProjectCache(through_proxy)
        cache.load()
        proxy.cut()
        unseen = add_key(direct, "keys-outage", "created during the outage")

        assert asyncio.run(cache.authorize(known.public_key, project.id))[0].id == project.id
        with pytest.raises(Unavailable) as refused:
            asyncio.run(cache.authorize(unseen.public_key, project.id))
        assert refused.value.status == 503 and refused.value.retry_after_s > 0

        proxy.restore()
        # The pool reconnects with a growing delay: the key is served once it has, as an
        # SDK retrying would find.
        deadline = time.monotonic() + 30
        while True:
            try:
                key = asyncio.run(cache.authorize(unseen.public_key, project.id))[1]
                break
            except Unavailable:
                assert time.monotonic() < deadline, "the key was never served again"
                time.sleep(0.5)
        assert key.is_active
    finally:
        through_proxy.close()
        direct.close()
        proxy.close()
