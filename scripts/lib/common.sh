# common.sh: shared by scripts/run, scripts/test and bench/run — installing
# what is missing, building, and a local PostgreSQL cluster under var/.
# shellcheck shell=bash

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
APT_PACKAGES=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev libpq-dev
  libsodium-dev zlib1g-dev libcurl4-openssl-dev libssl-dev postgresql postgresql-contrib postgresql-client libcmocka-dev curl)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Seconds to wait for another apt or dpkg (unattended-upgrades, a second
# scripts/run) to release its lock before giving up.
APT_LOCK_TIMEOUT="${APT_LOCK_TIMEOUT:-600}"

# apt-get that waits for dpkg's lock instead of failing at once. apt honours
# DPkg::Lock::Timeout for dpkg's lock only: `update` still fails at once on
# the lists lock, so a failure that names a lock is retried until the
# timeout. Output goes to stderr only when it fails for good.
apt_get() {
  local sudo="" waited=0 out
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  while :; do
    if out=$(DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout="$APT_LOCK_TIMEOUT" "$@" 2>&1); then
      return 0
    fi
    if grep -qE 'Could not get lock|Unable to (lock|acquire)' <<<"$out" && [ "$waited" -lt "$APT_LOCK_TIMEOUT" ]; then
      [ "$waited" -eq 0 ] && say "another apt process holds its lock: waiting (up to ${APT_LOCK_TIMEOUT}s)"
      sleep 2
      waited=$((waited + 2))
      continue
    fi
    printf '%s\n' "$out" >&2
    return 1
  done
}

# Install the Debian packages given (default: APT_PACKAGES) that are missing.
ensure_packages() {
  local pkgs=("$@") missing=()
  [ ${#pkgs[@]} -gt 0 ] || pkgs=("${APT_PACKAGES[@]}")
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing ${missing[*]}"
  apt_get update -q || die "apt-get update failed"
  apt_get install -y -q --no-install-recommends "${missing[@]}" || die "apt-get install ${missing[*]} failed"
}

# Node packages for tests and tools (playwright-core, axe, redocly), from npm.
ensure_node_modules() {
  command -v node >/dev/null || ensure_packages nodejs npm
  if [ ! -d "$ROOT/node_modules" ] || [ "$ROOT/package.json" -nt "$ROOT/node_modules/.installed" ]; then
    say "installing npm packages"
    (cd "$ROOT" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund --loglevel=error; \
      else npm install --no-audit --no-fund --loglevel=error; fi) >&2 || die "npm install failed"
    touch "$ROOT/node_modules/.installed"
  fi
}

# build TYPE [extra cmake args...]: configure and build into build/<type>.
build() {
  local type="$1"; shift
  local dir="$ROOT/build/$(echo "$type" | tr '[:upper:]' '[:lower:]')"
  cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null || die "cmake configure failed"
  cmake --build "$dir" -j"$(nproc)" >&2 || die "build failed"
  echo "$dir"
}

pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] || die "PostgreSQL server binaries not found"
  echo "$d"
}

# PostgreSQL refuses to run as root: run it as the postgres user then.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

# pg_start DIR PORT: create (first time) and start a cluster whose data and
# socket live under DIR; reachable only through the socket. Sets PG_DIR.
pg_start() {
  local dir port="$2" bin
  dir=$(realpath -m "$1") # the walk up below ends at / only for an absolute path
  bin=$(pg_bindir)
  mkdir -p "$dir"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir"
    # postgres must be able to reach the directory
    local d="$dir"
    while [ "$d" != "/" ]; do
      d=$(dirname "$d")
      [ -x "$d" ] && runuser -u postgres -- test -x "$d" || chmod o+x "$d"
    done
  fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null \
      || die "initdb failed"
  fi
  mkdir -p "$dir/sock" && { [ "$(id -u)" -ne 0 ] || chown postgres: "$dir/sock"; }
  if ! as_pg "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-k $dir/sock -p $port -c listen_addresses='' -c max_connections=200 -c fsync=${PG_FSYNC:-on} -c shared_buffers=${PG_SHARED_BUFFERS:-128MB}" \
      start >/dev/null || { tail -n 20 "$dir/postgres.log" >&2; die "PostgreSQL did not start"; }
  fi
  PG_DIR="$dir"
}

pg_stop() {
  local dir="$1"
  [ -f "$dir/data/PG_VERSION" ] || return 0
  as_pg "$(pg_bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}

# pg_url DIR PORT DB: the libpq URL for a database of that cluster.
pg_url() { echo "postgresql:///$3?host=$1/sock&port=$2&user=postgres"; }

pg_createdb() {
  local dir="$1" port="$2" db="$3"
  psql "$(pg_url "$dir" "$port" postgres)" -qtAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 \
    || psql "$(pg_url "$dir" "$port" postgres)" -qc "CREATE DATABASE \"$db\"" >/dev/null
}

# A TCP port nobody listens on now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
    || node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_http URL SECONDS
wait_http() {
  local url="$1" secs="${2:-30}" i
  for ((i = 0; i < secs * 10; i++)); do
    curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# smtp_start DIR PORT: the test SMTP server (tests/mail/smtp-server.py, on
# Debian's python3 with python3-aiosmtpd) on 127.0.0.1:PORT, writing what it
# receives to DIR. Sets SMTP_PID; it stops when its standard input closes
# or on SIGTERM.
smtp_start() {
  local dir="$1" port="$2" i
  mkdir -p "$dir"
  /usr/bin/python3 "$ROOT/tests/mail/smtp-server.py" "$port" "$dir" </dev/null >"$dir/server.out" 2>&1 &
  SMTP_PID=$!
  for ((i = 0; i < 100; i++)); do
    grep -q ready "$dir/server.out" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$dir/server.out" >&2
  die "the test SMTP server did not start"
}
