# stackwise — every recipe runs inside the project's environment (`uv run just ...`).

set positional-arguments
set dotenv-load := false

python := "python"

# list the recipes
default:
    @just --list --unsorted

# start the stack, send real sentry-sdk errors, print the resulting issues (embedded default)
demo:
    {{python}} -m stackwise demo

# run the whole test suite
test *args: node-deps
    {{python}} -m pytest "$@"

# install the JavaScript SDKs the protocol tests drive (pinned by package-lock.json)
node-deps:
    @[ tests/sdk/node/node_modules/.package-lock.json -nt tests/sdk/node/package-lock.json ] || npm ci --prefix tests/sdk/node --no-audit --no-fund --loglevel=error

# relay + workers in one process (the embedded default)
serve:
    {{python}} -m stackwise serve

# the relay alone (needs STACKWISE_CLICKHOUSE_URL, _POSTGRES_URL, _REDIS_URL)
relay:
    {{python}} -m stackwise relay

# the workers alone (needs server URLs)
worker:
    {{python}} -m stackwise worker

# serve the embedded ClickHouse over HTTP for separate relay/worker processes on this machine
clickhouse *args:
    {{python}} -m stackwise clickhouse "$@"

# apply pending PostgreSQL and ClickHouse migrations
migrate:
    {{python}} -m stackwise migrate

# projects and DSN keys: create, list, show, add-key, disable-key, enable-key, config
project *args:
    {{python}} -m stackwise project "$@"

# issues: list, show ID, resolve ID.. [--next-release], unresolve, ignore ID.. [--count N|--for 2h], merge TARGET SOURCE..
issues *args:
    {{python}} -m stackwise issues "$@"

# AI: analyze ID, similar ID, suggestions PROJECT, accept ID, reject ID
ai *args:
    {{python}} -m stackwise ai "$@"

# fingerprint JSON Lines events: just fingerprint FILE [--rules RULES_FILE]
fingerprint *args:
    {{python}} -m workers.grouping "$@"

# run benchmark NAME (ingest, grouping, process, seed, analysis)
bench name *args:
    {{python}} bench/{{name}}.py "${@:2}"

# lint, format check and type check
check:
    ruff check .
    ruff format --check .
    mypy stackwise relay workers analysis

# format the code
fmt:
    ruff format .
    ruff check --fix .
