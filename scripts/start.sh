#!/usr/bin/env bash
# `npm start`: the whole system on this machine with embedded defaults.
source "$(dirname "$0")/lib.sh"
ensure_node
ensure_deps

# Local secrets, generated once and kept in the data folder (git-ignored). Every process reads
# them at start (src/config.ts loadLocalEnv); variables you set win over them. The sandbox's
# place on the endpoint allow-list is not kept here: run-local derives it from BRAZE_SANDBOX_PORT.
ENV_FILE="$DATA_DIR/local.env"
if [ ! -f "$ENV_FILE" ]; then
  say "Generating local secrets in $ENV_FILE"
  node -e '
    const c = require("node:crypto");
    console.log("ADMIN_TOKEN=" + c.randomBytes(18).toString("base64url"));
    console.log("ENCRYPTION_KEY=" + c.randomBytes(32).toString("hex"));
    console.log("BRAZE_PARTNER_API_KEY_US=sandbox-partner-" + c.randomBytes(8).toString("hex"));
  ' > "$ENV_FILE"
  chmod 600 "$ENV_FILE"
fi
# Bull Board has a login of its own (it can delete jobs); added to a local.env made before it had one.
if ! grep -q '^BULL_BOARD_USER=' "$ENV_FILE"; then
  node -e '
    const c = require("node:crypto");
    console.log("BULL_BOARD_USER=operator");
    console.log("BULL_BOARD_PASSWORD=" + c.randomBytes(18).toString("base64url"));
  ' >> "$ENV_FILE"
fi
# Everything under DATA_DIR, unless set otherwise.
export DATA_DIR
export DATABASE_URL=${DATABASE_URL:-$DATA_DIR/control.db}
export WAREHOUSE_URL=${WAREHOUSE_URL:-$DATA_DIR/warehouse.db}
export BRAZE_SANDBOX_DB=${BRAZE_SANDBOX_DB:-$DATA_DIR/braze-sandbox.db}

ensure_redis
ensure_console_built
say "Applying migrations"
npx tsx db/migrate-cli.ts
say "Starting braze-sandbox, web and two workers"
exec node_modules/.bin/tsx scripts/run-local.ts
