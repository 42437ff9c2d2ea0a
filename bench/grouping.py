"""Benchmark the grouping engine: fingerprints per second on one core.

    uv run python bench/grouping.py

Measures `group_events` on JSON bytes for four typical events (a Python
exception with 15 frames, a minified JavaScript error, a message-only log, a
sentry-native crash with 14 frames through libc and libstdc++), their even
mix, and a replay of 1,000,000 stored events drawn from many root causes, for
every grouping version (v1 and v2). Every event is a distinct byte string (new
ids, timestamps, addresses, line numbers per release, values), as storage
would return them. Times are CPU time of this single-threaded process, i.e.
per core. Ends with one summary line; the target holds for each version's mix:

    bench grouping: v1 <figures> | v2 <figures> (target >= 20000 events/s per core) ok|short
"""

from __future__ import annotations

import random
import sys
import time
import uuid

import msgspec

from workers.grouping import VERSIONS, get_config, group_events

TARGET_EVENTS_PER_S = 20_000
POOL_SIZE = 3_000
REPLAY_EVENTS = 1_000_000
REPLAY_ROOT_CAUSES = 400
BATCH = 1_000

encode = msgspec.json.encode


def _common(rng: random.Random, platform: str) -> dict:
    """Fields every SDK event carries; grouping ignores them but must skip them."""
    return {
        "event_id": uuid.UUID(int=rng.getrandbits(128)).hex,
        "timestamp": 1_700_000_000 + rng.random() * 1e6,
        "platform": platform,
        "level": "error",
        "environment": "production",
        "release": f"shop@1.{rng.randint(0, 2)}.0",
        "server_name": f"web-{rng.randint(1, 40)}",
        "tags": {"region": rng.choice(["eu", "us"]), "customer_tier": "gold"},
        "contexts": {
            "os": {"name": "Linux", "version": "6.1"},
            "runtime": {"name": "CPython", "version": "3.11.7"},
            "trace": {
                "trace_id": uuid.UUID(int=rng.getrandbits(128)).hex,
                "span_id": "a1b2c3d4e5f60718",
            },
        },
        "breadcrumbs": {
            "values": [
                {
                    "timestamp": 1_700_000_000 + i,
                    "category": "query",
                    "message": f"SELECT * FROM t WHERE id={i}",
                }
                for i in range(8)
            ]
        },
        "sdk": {"name": "sentry.python.django", "version": "2.19.0"},
    }


def python_event(rng: random.Random, cause: int = 0) -> bytes:
    # Line numbers are fixed per code location and release (a few releases live).
    release = rng.randrange(3)
    frames = []
    for i in range(15):
        in_app = i >= 9 or i < 2
        module = f"shop.orders.handler{cause % 7}_{i}" if in_app else f"django.core.handlers.m{i}"
        frames.append(
            {
                "filename": module.replace(".", "/") + ".py",
                "abs_path": "/srv/app/" + module.replace(".", "/") + ".py",
                "module": module,
                "function": f"step_{cause}_{i}" if in_app else f"inner_{i}",
                "lineno": 10 + (cause * 31 + i * 17 + release * 5) % 390,
                "context_line": f"        result = step_{i + 1}(request, order_id={cause})",
                "pre_context": ["    def f():", "        x = 1"],
                "post_context": ["        return result", ""],
                "in_app": in_app,
                "vars": {"order_id": str(rng.randint(1, 10**6)), "request": "<WSGIRequest>"},
            }
        )
    event = _common(rng, "python")
    event["exception"] = {
        "values": [
            {
                "type": "ValueError" if cause % 2 else "KeyError",
                "value": f"order {rng.randint(1, 10**6)} has no line {rng.randint(1, 99)}",
                "module": "builtins",
                "mechanism": {"type": "django", "handled": False},
                "stacktrace": {"frames": frames},
            }
        ]
    }
    event["transaction"] = f"/api/orders/{{id}}/v{cause % 5}"
    return encode(event)


def javascript_event(rng: random.Random, cause: int = 0) -> bytes:
    # The bundle's content hash changes with each deploy (a few live at once).
    deploy = rng.randrange(3)
    bundle = (
        f"https://cdn.shop.example/assets/main.{(cause * 7919 + deploy) % 65536:04x}{deploy}.js"
    )
    names = ["e", "t", "n", "r", "o", "i", "a", "s", "u", "c", "l", "d"]
    frames = [
        {
            "filename": bundle,
            # Browsers qualify the same minified function differently.
            "function": f"{['Object', 'HTMLButtonElement', 'n'][deploy]}.{names[(cause + i) % 12]}",
            "lineno": 1,
            "colno": 1000 + (cause * 7919 + i * 104729 + deploy * 31) % 89000,
            "in_app": True,
        }
        for i in range(12)
    ]
    event = _common(rng, "javascript")
    event["sdk"] = {"name": "sentry.javascript.browser", "version": "8.40.0"}
    event["request"] = {"url": f"https://shop.example/cart/{rng.randint(1, 10**6)}"}
    event["exception"] = {
        "values": [
            {
                "type": "TypeError",
                "value": f"Cannot read properties of undefined (reading 'p{cause}')",
                "mechanism": {"type": "onerror", "handled": False},
                "stacktrace": {"frames": frames},
            }
        ]
    }
    return encode(event)


def message_event(rng: random.Random, cause: int = 0) -> bytes:
    event = _common(rng, "python")
    user = rng.randint(1, 10**7)
    event["logger"] = "shop.payments"
    event["level"] = "warning"
    event["logentry"] = {
        "message": f"Payment %s for user %s declined by gateway {cause}",
        "formatted": (
            f"Payment {uuid.UUID(int=rng.getrandbits(128))} for user {user} "
            f"declined by gateway {cause}"
        ),
        "params": ["x", user],
    }
    return encode(event)


def native_event(rng: random.Random, cause: int = 0) -> bytes:
    """A sentry-native crash: start-up, std::function, allocator and app frames."""
    release = rng.randrange(3)
    libc = "/usr/lib/x86_64-linux-gnu/libc.so.6"
    game = "/opt/game/bin/game"
    names = [
        ("_start", game),
        ("__libc_start_main", libc),
        ("main", game),
        ("Engine::Run()", game),
        (f"World::Update{cause % 9}(float)", game),
        ("std::function<void (float)>::operator()(float) const", game),
        (f"Systems::Physics{cause}::Step(float)", game),
        ("std::vector<Body, std::allocator<Body> >::_M_realloc_insert(Body const&)", game),
        (f"Body::Integrate{cause % 5}(float)", game),
        ("operator new(unsigned long)", "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"),
        ("malloc", libc),
        ("_int_malloc", libc),
        ("malloc_printerr", libc),
        ("abort", libc),
    ]
    frames = []
    for i, (function, package) in enumerate(names):
        frame = {
            "instruction_addr": hex(0x55D1C2B60000 + rng.getrandbits(20)),
            "image_addr": "0x55d1c2b00000",
            "function": function,
            "package": package,
        }
        if package == game:
            frame["filename"] = f"src{i}.cpp"
            frame["abs_path"] = f"/build/r{release}/src/src{i}.cpp"
            frame["lineno"] = 10 + (cause * 7 + i * 13 + release * 3) % 300
        frames.append(frame)
    event = _common(rng, "native")
    event["sdk"] = {"name": "sentry.native", "version": "0.7.5"}
    event["exception"] = {
        "values": [
            {
                "type": "SIGABRT",
                "value": "Abort",
                "mechanism": {"type": "signalhandler", "synthetic": True, "handled": False},
                "stacktrace": {"frames": frames},
            }
        ]
    }
    return encode(event)


MAKERS = {
    "python15": python_event,
    "minified_js": javascript_event,
    "message": message_event,
    "native14": native_event,
}


def throughput(events: list[bytes], repeat: int, version: str) -> float:
    config = get_config(version)
    group_events(events[:BATCH], config)  # warm caches as a running worker has
    # CPU time of this (single-threaded) process: events per second per core,
    # unaffected by whatever else the machine runs.
    start = time.process_time()
    for _ in range(repeat):
        for offset in range(0, len(events), BATCH):
            group_events(events[offset : offset + BATCH], config)
    return repeat * len(events) / (time.process_time() - start)


def replay_pool(rng: random.Random) -> list[bytes]:
    """Distinct stored events from many root causes, a realistic mix of kinds."""
    makers = list(MAKERS.values())
    return [
        makers[i % len(makers)](rng, cause=rng.randrange(REPLAY_ROOT_CAUSES)) for i in range(30_000)
    ]


def measure(version: str, pools: dict[str, list[bytes]], replay: list[bytes]) -> dict[str, float]:
    print(f"grouping version {version}")
    figures: dict[str, float] = {}
    for name, pool in pools.items():
        figures[name] = throughput(pool, 3, version)
        print(f"{name:>12}: {figures[name]:>9,.0f} events/s ({len(pool[0]):,} bytes each)")
    mix = [event for kinds in zip(*pools.values(), strict=True) for event in kinds]
    figures["mix"] = throughput(mix, 3, version)
    print(f"{'typical mix':>12}: {figures['mix']:>9,.0f} events/s")
    figures["replay_1M"] = throughput(replay, 1, version)
    print(f"{'replay 1M':>12}: {figures['replay_1M']:>9,.0f} events/s")
    return figures


def main() -> int:
    rng = random.Random(7)
    pools = {
        name: [make(rng, cause=i % 50) for i in range(POOL_SIZE)] for name, make in MAKERS.items()
    }
    pool = replay_pool(rng)
    replay = [pool[rng.randrange(len(pool))] for _ in range(REPLAY_EVENTS)]
    figures = {version: measure(version, pools, replay) for version in sorted(VERSIONS)}
    short = [v for v, f in figures.items() if f["mix"] < TARGET_EVENTS_PER_S]
    verdict = "short" if short else "ok"
    summary = " | ".join(
        f"{version} " + " ".join(f"{name}={value:.0f}/s" for name, value in values.items())
        for version, values in figures.items()
    )
    print(
        f"bench grouping: {summary} (target >= {TARGET_EVENTS_PER_S} events/s per core) {verdict}"
    )
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
