# Shared set-up steps for `npm start` and `npm test`. Sourced, not run.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
DATA_DIR=${DATA_DIR:-$ROOT/data}
mkdir -p "$DATA_DIR"

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

ensure_node() {
  if ! command -v node >/dev/null 2>&1; then
    echo "Node.js 20.19 or newer is needed: https://nodejs.org/en/download (or your package manager's nodejs 20+)" >&2
    exit 1
  fi
  # 20.19: the oldest Node 20 that Vite (under vitest) and process.loadEnvFile both support.
  if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
    echo "Node.js $(node -v) is too old: this project needs Node.js 20.19 or newer." >&2
    exit 1
  fi
}

ensure_deps() {
  # Reinstall when package-lock.json is newer than what node_modules was installed from.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    # npm ci: exactly the committed lock file, so every machine runs what CI ran.
    say "Installing dependencies (npm ci)"
    npm ci --no-audit --no-fund
  fi
}

redis_host_port() {
  # redis[s]://[user:pass@]host:port[/db] → "host port"; an IPv6 host comes in brackets.
  local url=${REDIS_URL:-redis://127.0.0.1:6379}
  local rest=${url#*://}
  rest=${rest##*@}
  rest=${rest%%/*}
  local host port=6379
  if [[ $rest == \[* ]]; then
    host=${rest%%]*}
    host=${host#[}
    rest=${rest#*]}
    [[ $rest == :* ]] && port=${rest#:}
  else
    host=${rest%%:*}
    [ "$rest" != "$host" ] && port=${rest##*:}
  fi
  echo "$host $port"
}

redis_answers() {
  local host=$1 port=$2 reply
  # bash's /dev/tcp: no redis-cli needed to ask. In a subshell, so its redirections
  # (and a refused connection's message) stay there.
  local limit=()
  # A host that drops packets would hold the connect for minutes: give up after 3 s.
  command -v timeout >/dev/null 2>&1 && limit=(timeout 3)
  reply=$("${limit[@]}" bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "PING\r\n" >&3 && IFS= read -r -t 2 line <&3 && printf "%s" "$line"' _ "$host" "$port" 2>/dev/null) || true
  case "$reply" in
    +PONG* | -NOAUTH* | -ERR*) return 0 ;;
    *) return 1 ;;
  esac
}

ensure_redis() {
  local host port
  read -r host port < <(redis_host_port)
  if redis_answers "$host" "$port"; then return 0; fi
  case "$host" in
    127.0.0.1 | localhost | ::1) ;;
    *)
      echo "Redis at ${REDIS_URL} does not answer. Start it, or unset REDIS_URL to use a local one." >&2
      exit 1
      ;;
  esac
  if ! command -v redis-server >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "Installing redis-server with apt-get"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else
      echo "Redis is not running at $host:$port and redis-server is not installed. Run:" >&2
      echo "    sudo apt-get install -y redis-server    # Debian/Ubuntu" >&2
      echo "    brew install redis                      # macOS" >&2
      echo "or start one with Docker: docker run -d -p $port:6379 redis:7" >&2
      echo "then run this command again." >&2
      exit 1
    fi
  fi
  say "Starting a local redis-server on port $port (data in $DATA_DIR/redis; it keeps running: redis-cli -p $port shutdown stops it)"
  mkdir -p "$DATA_DIR/redis"
  redis-server --port "$port" --bind 127.0.0.1 --dir "$DATA_DIR/redis" --appendonly yes \
    --maxmemory-policy noeviction --daemonize yes \
    --pidfile "$DATA_DIR/redis/redis.pid" --logfile "$DATA_DIR/redis/redis.log"
  for _ in $(seq 1 50); do
    redis_answers "$host" "$port" && return 0
    sleep 0.1
  done
  echo "redis-server did not start; see $DATA_DIR/redis/redis.log" >&2
  exit 1
}

ensure_console_built() {
  # Build Cohort Control (the web console) when it is missing or its sources changed since.
  local out=dist/console/index.html
  if [ ! -f "$out" ] || [ -n "$(find console package-lock.json -newer "$out" -print -quit)" ]; then
    say "Building the web console (npm run build:console)"
    npm run --silent build:console -- --logLevel warn
  fi
}

ensure_chromium() {
  # The console's browser tests drive Debian's Chromium through playwright-core (no browser download).
  local chromium=${CHROMIUM_PATH:-/usr/bin/chromium}
  if [ -x "$chromium" ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "Installing chromium with apt-get (for the console's browser tests)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
    return 0
  fi
  echo "Chromium is not installed at $chromium (the console's browser tests need it). Run:" >&2
  echo "    sudo apt-get install -y chromium        # Debian/Ubuntu" >&2
  echo "or set CHROMIUM_PATH to a Chromium or Chrome binary, then run this command again." >&2
  exit 1
}
