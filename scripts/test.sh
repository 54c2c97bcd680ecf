#!/usr/bin/env bash
# `npm test`: the same preparation as `npm start`, then type-check and the whole vitest suite.
source "$(dirname "$0")/lib.sh"
ensure_node
ensure_deps
ensure_redis
say "Type-checking"
npx tsc --noEmit -p .
say "Running the test suite"
exec npx vitest run "$@"
