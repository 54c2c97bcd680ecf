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

# PostgreSQL for the tests that run the warehouse on it: PGHOST:PGPORT (default 127.0.0.1:5432),
# user PGUSER (postgres) without a password on loopback (trust), as on CI.
postgres_answers() {
  local host=$1 port=$2
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$host" -p "$port" -t 3
    return
  fi
  local limit=()
  command -v timeout >/dev/null 2>&1 && limit=(timeout 3)
  "${limit[@]}" bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$host" "$port" 2>/dev/null
}

# Loopback trust for the postgres user, for a server this script installed (Debian's default asks
# for a password the tests do not have). Inserted first so it wins over the packaged lines.
postgres_trust_loopback() {
  local hba=$1
  grep -q '^# cohort-import tests' "$hba" && return 0
  sed -i '1i # cohort-import tests: the postgres user on loopback without a password\nhost all postgres 127.0.0.1/32 trust\nhost all postgres ::1/128 trust' "$hba"
}

ensure_postgres() {
  local host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432} user=${PGUSER:-postgres} installed=0
  if ! postgres_answers "$host" "$port"; then
    case "$host" in
      127.0.0.1 | localhost | ::1) ;;
      *)
        echo "PostgreSQL at $host:$port does not answer. Start it, or unset PGHOST to use a local one." >&2
        exit 1
        ;;
    esac
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
      if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        say "Installing postgresql with apt-get"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        installed=1
      else
        echo "PostgreSQL is not running at $host:$port and is not installed. Run:" >&2
        echo "    sudo apt-get install -y postgresql    # Debian/Ubuntu" >&2
        echo "or start one with Docker: docker run -d -p $port:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16" >&2
        echo "then run this command again." >&2
        exit 1
      fi
    fi
    local version name
    read -r version name < <(pg_lsclusters -h 2>/dev/null | awk -v p="$port" '$3 == p { print $1, $2; exit }') || true
    if [ -z "${version:-}" ]; then
      echo "No PostgreSQL cluster is set up on port $port. Run:" >&2
      echo "    sudo pg_createcluster $(ls /usr/lib/postgresql | sort -n | tail -1) cohort-import-tests --port $port --start" >&2
      echo "then run this command again." >&2
      exit 1
    fi
    [ "$installed" = 1 ] && postgres_trust_loopback "/etc/postgresql/$version/$name/pg_hba.conf"
    say "Starting PostgreSQL $version/$name on port $port (it keeps running: pg_ctlcluster $version $name stop stops it)"
    if ! pg_ctlcluster "$version" "$name" start 2>/dev/null && ! pg_ctlcluster "$version" "$name" status >/dev/null 2>&1; then
      echo "PostgreSQL $version/$name did not start. Run:" >&2
      echo "    sudo pg_ctlcluster $version $name start" >&2
      echo "then run this command again." >&2
      exit 1
    fi
    [ "$installed" = 1 ] && pg_ctlcluster "$version" "$name" reload
    for _ in $(seq 1 50); do
      postgres_answers "$host" "$port" && break
      sleep 0.2
    done
    if ! postgres_answers "$host" "$port"; then
      echo "PostgreSQL $version/$name started but does not answer at $host:$port; see /var/log/postgresql/" >&2
      exit 1
    fi
  fi
  if command -v psql >/dev/null 2>&1 &&
    ! PGCONNECT_TIMEOUT=5 psql -w -h "$host" -p "$port" -U "$user" -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
    echo "PostgreSQL at $host:$port refuses user $user without a password. Either set PGPASSWORD, or allow" >&2
    echo "loopback trust for it: add 'host all $user 127.0.0.1/32 trust' at the top of pg_hba.conf and run" >&2
    echo "    sudo pg_ctlcluster <version> <cluster> reload" >&2
    exit 1
  fi
}
