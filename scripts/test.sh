#!/usr/bin/env bash
# `npm test`: the same preparation as `npm start`, then build the console, type-check and run the whole vitest suite.
source "$(dirname "$0")/lib.sh"
ensure_node
ensure_deps
ensure_redis
ensure_postgres
ensure_chromium
say "Building the web console"
npm run --silent build:console -- --logLevel warn
say "Checking formatting (npm run format fixes it)"
npx prettier --check . --log-level warn
say "Type-checking"
npx tsc --noEmit -p .
npx tsc --noEmit -p console
say "Running the test suite"
exec npx vitest run "$@"
