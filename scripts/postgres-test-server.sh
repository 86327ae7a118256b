#!/usr/bin/env bash
# A throwaway PostgreSQL server for the integration tests (and for trying `serve` locally).
#
#   scripts/postgres-test-server.sh start [--dir DIR] [--port PORT] [--wal-level LEVEL]
#       Installs Debian's `postgresql` package when no server binaries are found (needs root or
#       password-less sudo), creates a cluster in DIR (initdb), starts it on 127.0.0.1 with
#       wal_level=logical (or LEVEL), and prints its URL on stdout (and nothing else there):
#           export SHAPE_ACTORS_TEST_DATABASE_URL="$(scripts/postgres-test-server.sh start)"
#       Idempotent: when DIR already holds a running server, only its URL is printed; a stopped
#       one is started again.
#   scripts/postgres-test-server.sh url    [--dir DIR]   the URL of the server in DIR
#   scripts/postgres-test-server.sh status [--dir DIR]   exit 0 when it runs, 3 when not
#   scripts/postgres-test-server.sh stop   [--dir DIR]   stops it and deletes what start created
#       there (idempotent); DIR itself too when start created it
#
# DIR defaults to $SHAPE_ACTORS_PG_DIR, else ${TMPDIR:-/tmp}/shape-actors-pg. It must be missing or
# empty the first time (start creates it, or adopts the empty one, and writes .shape-actors-pg
# there); a DIR holding anything without that marker is refused, by start and by stop, so the
# script never deletes what it did not create. As root, the server user must reach DIR: every
# parent directory must let it through (o+x; /tmp does, a dir under /root or under `mktemp -d`
# does not: pass `mktemp -d` itself, which start hands to that user). The server trusts
# connections from 127.0.0.1 only (role `postgres`, no password), runs with fsync off (it is a
# test fixture: a crash of the *database* is not what the tests exercise), C locale (text compares
# by code point, as the where evaluator does), and as an unprivileged user: initdb refuses root,
# so as root it runs as `postgres` (created by the Debian package) or a `shape-actors-pg` user.
# Messages go to stderr. Exit codes: 0 ok, 1 failure, 2 bad arguments, 3 not running (status).
set -euo pipefail

log() { printf 'postgres-test-server: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

command_name="${1:-}"
[[ -n "$command_name" ]] || { log "usage: $0 start|stop|url|status [--dir DIR] [--port PORT] [--wal-level LEVEL]"; exit 2; }
shift
dir="${SHAPE_ACTORS_PG_DIR:-${TMPDIR:-/tmp}/shape-actors-pg}"
port=""
wal_level="logical"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dir) dir="${2:?--dir needs a value}"; shift 2 ;;
    --port) port="${2:?--port needs a value}"; shift 2 ;;
    --wal-level) wal_level="${2:?--wal-level needs a value}"; shift 2 ;;
    *) log "unknown argument: $1"; exit 2 ;;
  esac
done
case "$wal_level" in minimal | replica | logical) ;; *) log "--wal-level must be minimal, replica or logical"; exit 2 ;; esac
data="$dir/data"
marker="$dir/.shape-actors-pg"
# What start creates in DIR; stop deletes these and nothing else.
created_files=(data server.log initdb.log port url .shape-actors-pg)

# ------------------------------------------------------------------ DIR: only ever what this script created

# Exit 0: DIR is ours (marked); 1: missing; 2: empty; 3: holds something else (or is not a directory).
dir_state() {
  if [[ ! -e "$dir" ]]; then return 1; fi
  if [[ ! -d "$dir" ]]; then return 3; fi
  if [[ -f "$marker" ]]; then return 0; fi
  if [[ -z "$(ls -A "$dir")" ]]; then return 2; fi
  return 3
}

refuse_foreign_dir() {
  die "$dir holds files this script did not create (no .shape-actors-pg marker): not touching it (--dir needs a missing or empty directory, or one this script started)"
}

claim_dir() {
  local state=0
  dir_state || state=$?
  case "$state" in
    0) ;;
    1) mkdir -p "$dir"; echo "created-dir=yes" >"$marker" ;;
    2) echo "created-dir=no" >"$marker" ;;
    *) refuse_foreign_dir ;;
  esac
}

# ------------------------------------------------------------------ binaries

find_bindir() {
  local candidate
  # Debian keeps the server binaries out of PATH, one directory per major version: take the newest.
  candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  if [[ -n "$candidate" && -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then echo "$candidate"; return 0; fi
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return 0; fi
  return 1
}

as_root() {
  if [[ $EUID -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1
  fi
}

install_postgres() {
  command -v apt-get >/dev/null 2>&1 || die "no PostgreSQL server binaries found and no apt-get to install them (install PostgreSQL, or set SHAPE_ACTORS_TEST_DATABASE_URL)"
  as_root true 2>/dev/null || die "no PostgreSQL server binaries found; installing them needs root or password-less sudo (or set SHAPE_ACTORS_TEST_DATABASE_URL)"
  log "installing PostgreSQL (Debian package postgresql)..."
  # No default cluster: this script makes its own, on its own port, in its own directory.
  if [[ ! -e /etc/postgresql-common/createcluster.conf ]]; then
    as_root mkdir -p /etc/postgresql-common
    echo "create_main_cluster = false" | as_root tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql >&2
}

# ------------------------------------------------------------------ running as an unprivileged user

run_user=""
pick_run_user() {
  if [[ $EUID -ne 0 ]]; then run_user=""; return; fi
  if id -u postgres >/dev/null 2>&1; then run_user=postgres; return; fi
  if ! id -u shape-actors-pg >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin shape-actors-pg 2>/dev/null ||
      adduser --system --no-create-home --disabled-login shape-actors-pg >/dev/null 2>&1 ||
      die "running as root, and could not create an unprivileged user for the server"
  fi
  run_user=shape-actors-pg
}

as_server_user() {
  if [[ -z "$run_user" ]]; then "$@"
  elif command -v runuser >/dev/null 2>&1; then runuser -u "$run_user" -- "$@"
  else su -s /bin/sh "$run_user" -c "$(printf '%q ' "$@")"
  fi
}

# ------------------------------------------------------------------ server

url_of() { echo "postgres://postgres@127.0.0.1:$1/postgres"; }

is_running() { [[ -d "$data" ]] && as_server_user "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  local p=$((54320 + RANDOM % 2000)) i
  for ((i = 0; i < 200; i++)); do
    if ! port_in_use "$p"; then echo "$p"; return 0; fi
    p=$((p + 1))
  done
  die "no free port found near $p"
}

configure() {
  local p="$1"
  cat >"$data/postgresql.auto.conf" <<EOF
# written by scripts/postgres-test-server.sh
listen_addresses = '127.0.0.1'
port = $p
unix_socket_directories = '$dir'
wal_level = $wal_level
max_wal_senders = 64
max_replication_slots = 64
max_connections = 200
fsync = off
full_page_writes = off
log_min_messages = warning
EOF
  [[ -z "$run_user" ]] || chown "$run_user" "$data/postgresql.auto.conf"
}

start_server() {
  local attempt p="$port"
  for attempt in 1 2 3 4 5; do
    [[ -n "$p" ]] || p="$(free_port)"
    configure "$p"
    if as_server_user "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 -o "-c port=$p" start >/dev/null 2>&1; then
      echo "$p" >"$dir/port"
      url_of "$p" >"$dir/url"
      return 0
    fi
    if [[ -n "$port" ]]; then tail -n 20 "$dir/server.log" >&2 || true; die "could not start PostgreSQL on port $port"; fi
    log "start on port $p failed (attempt $attempt), trying another port"
    p=""
  done
  tail -n 20 "$dir/server.log" >&2 || true
  die "could not start PostgreSQL (see $dir/server.log)"
}

case "$command_name" in
  start)
    # Checked before anything is installed or created.
    state=0
    dir_state || state=$?
    [[ "$state" -ne 3 ]] || refuse_foreign_dir
    bindir="$(find_bindir || true)"
    if [[ -z "$bindir" ]]; then
      install_postgres
      bindir="$(find_bindir)" || die "PostgreSQL was installed but its binaries were not found under /usr/lib/postgresql"
    fi
    pick_run_user
    if [[ "$state" -eq 0 ]] && is_running; then cat "$dir/url"; exit 0; fi
    claim_dir
    [[ -z "$run_user" ]] || chown "$run_user" "$dir" "$marker"
    chmod 700 "$dir"
    if [[ -n "$run_user" ]] && ! as_server_user test -w "$dir"; then
      die "the server runs as $run_user, which cannot reach $dir: every parent directory must let it through (o+x), e.g. use a dir under /tmp"
    fi
    if [[ ! -f "$data/PG_VERSION" ]]; then
      rm -rf "$data"
      log "initdb in $data ($("$bindir/postgres" --version))"
      as_server_user "$bindir/initdb" -D "$data" -U postgres --auth=trust --no-locale -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; die "initdb failed"; }
    fi
    [[ -n "$port" ]] || port="$(cat "$dir/port" 2>/dev/null || true)"
    if [[ -n "$port" ]] && port_in_use "$port"; then port=""; fi
    start_server
    log "PostgreSQL running in $dir (wal_level=$wal_level)"
    cat "$dir/url"
    ;;
  url)
    [[ -f "$dir/url" ]] || die "no server in $dir"
    cat "$dir/url"
    ;;
  status)
    bindir="$(find_bindir)" || { log "no PostgreSQL binaries"; exit 3; }
    pick_run_user
    if is_running; then log "running: $(cat "$dir/url")"; exit 0; fi
    log "not running ($dir)"
    exit 3
    ;;
  stop)
    state=0
    dir_state || state=$?
    case "$state" in
      1) log "nothing to stop: $dir does not exist"; exit 0 ;;
      2) log "nothing to stop: $dir is empty"; exit 0 ;;
      3) refuse_foreign_dir ;;
    esac
    if [[ -d "$data" ]]; then
      bindir="$(find_bindir)" || die "no PostgreSQL binaries to stop the server in $dir with"
      pick_run_user
      if is_running; then as_server_user "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || die "could not stop the server in $dir"; fi
    fi
    created_dir="$(cat "$marker" 2>/dev/null || true)"
    for name in "${created_files[@]}"; do rm -rf "${dir:?}/$name"; done
    rm -f "${dir:?}"/.s.PGSQL.* # the server's socket and its lock (left by a server that did not stop cleanly)
    if [[ "$created_dir" == "created-dir=yes" ]]; then
      if rmdir "$dir" 2>/dev/null; then log "stopped; removed $dir"; else log "stopped; removed what start created in $dir (it holds other files now: left there)"; fi
    else
      log "stopped; removed what start created in $dir (the directory was there before: kept)"
    fi
    ;;
  *)
    log "unknown command: $command_name (start, stop, url, status)"
    exit 2
    ;;
esac
