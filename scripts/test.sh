#!/usr/bin/env bash
# `npm test`: the same preparation as `npm start`, then type-check and the whole vitest suite.
source "$(dirname "$0")/lib.sh"
ensure_node
ensure_deps
ensure_redis
ensure_postgres
say "Checking formatting (npm run format fixes it)"
npx prettier --check . --log-level warn
say "Type-checking"
npx tsc --noEmit -p .
say "Running the test suite"
exec npx vitest run "$@"
