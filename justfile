# stackwise — every recipe runs inside the project's environment (`uv run just ...`).

set positional-arguments
set dotenv-load := false
# bash, not sh: `bench` passes on its arguments with "${@:2}".
set shell := ["bash", "-cu"]

python := "python"

# list the recipes
default:
    @just --list --unsorted

# start the stack, send real sentry-sdk errors, print the resulting issues (embedded default)
[no-exit-message]
demo *args:
    @{{python}} -m stackwise demo "$@"

# run the whole test suite
test *args: node-deps browser
    @{{python}} -m pytest "$@"

# install the JavaScript SDKs the protocol tests drive (pinned by package-lock.json)
node-deps:
    @[ tests/sdk/node/node_modules/.package-lock.json -nt tests/sdk/node/package-lock.json ] || npm ci --prefix tests/sdk/node --no-audit --no-fund --loglevel=error

# relay + workers on this machine, embedded default: just serve [--processes N] (default: one relay process per core)
[no-exit-message]
serve *args:
    @{{python}} -m stackwise serve "$@"

# the relay alone (needs STACKWISE_CLICKHOUSE_URL, _POSTGRES_URL, _REDIS_URL): just relay [--processes N]
[no-exit-message]
relay *args:
    @{{python}} -m stackwise relay "$@"

# the workers alone (needs server URLs): just worker [--processes N] [--threads M]
[no-exit-message]
worker *args:
    @{{python}} -m stackwise worker "$@"

# serve the embedded ClickHouse over HTTP for separate relay/worker processes on this machine
[no-exit-message]
clickhouse *args:
    @{{python}} -m stackwise clickhouse "$@"

# apply pending PostgreSQL and ClickHouse migrations
[no-exit-message]
migrate *args:
    @{{python}} -m stackwise migrate "$@"

# realistic traffic with ground truth: just seed [--events N] [--days D] [--direct] [--ai] ...
[no-exit-message]
seed *args:
    @{{python}} -m stackwise seed "$@"

# projects and DSN keys: create, list, show, add-key, disable-key, enable-key, config
[no-exit-message]
project *args:
    @{{python}} -m stackwise project "$@"

# API tokens for sentry-cli source map uploads: create [--project P] [--scope S], list, revoke ID
[no-exit-message]
token *args:
    @{{python}} -m stackwise token "$@"

# issues: list, show ID, resolve ID.. [--next-release], unresolve, ignore ID.. [--count N|--for 2h], merge TARGET SOURCE..
[no-exit-message]
issues *args:
    @{{python}} -m stackwise issues "$@"

# the issues app in the browser (127.0.0.1:2718; a token when bound elsewhere): just ui [--host H] [--port P] [--source SPEC]
[no-exit-message]
ui *args:
    @STACKWISE_DATA_DIR="${STACKWISE_DATA_DIR:-{{justfile_directory()}}/.stackwise}" {{python}} -m stackwise ui "$@"

# reconcile what the relay kept with what is stored and grouped: just audit [--project P] [--since 24h]
[no-exit-message]
audit *args:
    @{{python}} -m stackwise audit "$@"

# AI: analyze ID, similar ID, suggestions PROJECT, accept ID, reject ID
[no-exit-message]
ai *args:
    @{{python}} -m stackwise ai "$@"

# fingerprint JSON Lines events: just fingerprint FILE [--explain] [--version v1] [--rules RULES_FILE] [--skip-invalid]
[no-exit-message]
fingerprint *args:
    @{{python}} -m workers.grouping "$@"

# write the stored data as partitioned Parquet for notebooks and offline work: just export [--out DIR] [--projects 1,3]
[no-exit-message]
export *args:
    @{{python}} -m stackwise export "$@"

# the workbench notebooks in marimo's editor (read an export: just notebook -- --source .stackwise/export)
notebook *args:
    @STACKWISE_DATA_DIR="${STACKWISE_DATA_DIR:-{{justfile_directory()}}/.stackwise}" marimo edit notebooks "$@"

# the same notebooks in JupyterLab (their .ipynb twins)
lab *args:
    @STACKWISE_DATA_DIR="${STACKWISE_DATA_DIR:-{{justfile_directory()}}/.stackwise}" jupyter lab notebooks "$@"

# run every notebook headless on the current data, self-contained HTML to reports/: just report [--source SPEC] [NAME ...]
[no-exit-message]
report *args:
    @{{python}} -m stackwise report "$@"

# regenerate notebooks/*.ipynb from the marimo notebooks (a test checks they match)
ipynb:
    @for notebook in notebooks/*.py; do marimo export ipynb "$notebook" --sort top-down -f -o "${notebook%.py}.ipynb"; done

# headless Chromium for the report tests: installed with apt-get when run as root, else the command to run
browser:
    #!/usr/bin/env bash
    set -euo pipefail
    command -v chromium >/dev/null && exit 0
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium
    else
        echo "headless Chromium is missing; run: sudo apt-get install -y --no-install-recommends chromium" >&2
        exit 1
    fi

# run benchmark NAME (ingest, grouping, process, seed, analysis, soak)
[no-exit-message]
bench name *args:
    @{{python}} bench/{{name}}.py "${@:2}"

# lint, format check, type check and the import contracts (layers, no cycles)
check:
    @ruff check .
    @ruff format --check .
    @mypy core relay workers analysis seed stackwise
    @lint-imports

# format the code
fmt:
    @ruff format .
    @ruff check --fix .
