#!/usr/bin/env bash
# Runs a command with a throw-away PostgreSQL server:
#   scripts/with_postgres.sh ctest --test-dir build --output-on-failure
# Starts a fresh PostgreSQL 15 cluster in a temporary folder (initdb + pg_ctl,
# trust authentication, listening on 127.0.0.1 at a free port and on a unix
# socket inside that folder), exports
#   WATTLAB_TEST_POSTGRES_URI=postgresql://postgres@127.0.0.1:PORT/postgres
# runs the command, then stops the server and removes the folder, whatever
# happened. Exits with the command's exit status.
# initdb refuses to run as root, so as root the server runs as user postgres.
set -euo pipefail

if [[ $# -eq 0 ]]; then
  echo "usage: $0 COMMAND [ARGS...]   (runs COMMAND with a throw-away PostgreSQL server)" >&2
  exit 2
fi

PG_BIN="${PG_BIN:-}"
if [[ -z "$PG_BIN" ]]; then
  for candidate in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [[ -x "$candidate/initdb" ]]; then PG_BIN="$candidate"; break; fi
  done
fi
if [[ -z "$PG_BIN" || ! -x "$PG_BIN/initdb" ]]; then
  echo "$0: cannot find initdb under /usr/lib/postgresql/*/bin — install the postgresql package" \
       "(scripts/setup.sh does) or set PG_BIN to the folder holding initdb and pg_ctl" >&2
  exit 1
fi

# As root, run the server as the postgres user (initdb refuses root).
as_server_user=()
if [[ $(id -u) -eq 0 ]]; then
  if ! id postgres >/dev/null 2>&1; then
    echo "$0: running as root but there is no user 'postgres' to run the server as —" \
         "install the postgresql package or run this script as an ordinary user" >&2
    exit 1
  fi
  as_server_user=(runuser -u postgres --)
fi

PG_TMP="$(mktemp -d "${TMPDIR:-/tmp}/wattlab-pg.XXXXXX")"
chmod 755 "$PG_TMP"
if [[ ${#as_server_user[@]} -gt 0 ]]; then chown postgres: "$PG_TMP"; fi
PG_DATA="$PG_TMP/data"
PG_LOG="$PG_TMP/server.log"
started=0

# Runs a server command as the server's user, from the temporary folder (the
# postgres user may not be allowed into the current one).
as_server() { (cd "$PG_TMP" && "${as_server_user[@]}" "$@"); }

cleanup() {
  if [[ $started -eq 1 ]]; then
    as_server "$PG_BIN/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$PG_TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free TCP port: ask the kernel for one, then hand it to the server.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

if ! as_server "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --no-locale -E UTF8 \
    >"$PG_TMP/initdb.log" 2>&1; then
  echo "$0: initdb failed:" >&2
  cat "$PG_TMP/initdb.log" >&2
  exit 1
fi

# Another process may take the port between free_port and the server's bind;
# try a few ports.
for attempt in 1 2 3 4 5; do
  PG_PORT="$(free_port)"
  if as_server "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
      -o "-p $PG_PORT -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
      start >/dev/null 2>&1; then
    started=1
    break
  fi
done
if [[ $started -ne 1 ]]; then
  echo "$0: the PostgreSQL server did not start; its log:" >&2
  cat "$PG_LOG" >&2 || true
  exit 1
fi

export WATTLAB_TEST_POSTGRES_URI="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
echo "==> PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') at $WATTLAB_TEST_POSTGRES_URI (data in $PG_TMP)"

status=0
"$@" || status=$?
exit $status
