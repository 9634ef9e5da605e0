#!/usr/bin/env bash
# The whole test suite, from a fresh clone: install, type-check, lint, unit + contract tests, build.
# `.ci/run` calls `npm ci && npm test`, which lands here.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

step "type-check (tsc --noEmit, strict)"
npx tsc --noEmit -p .

step "lint and format (biome)"
npx biome check .

step "build (tsup: ESM + CJS + types)"
npx tsup --silent

step "unit, contract and reliability tests (vitest)"
npx vitest run
