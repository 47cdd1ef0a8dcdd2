#!/usr/bin/env bash
# Start a throwaway PostgreSQL (Debian's package) on 127.0.0.1:55432 for the store tests; prints its URL.
set -euo pipefail
PORT=${MM_PG_PORT:-55432}
DIR=${MM_PG_DIR:-/tmp/mm-pg}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
if ! "$PGBIN/pg_isready" -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
  rm -rf "$DIR"
  mkdir -p "$DIR"
  chown postgres "$DIR"
  su postgres -c "$PGBIN/initdb -D $DIR/data -A trust -U postgres" >/dev/null
  su postgres -c "$PGBIN/pg_ctl -D $DIR/data -o '-h 127.0.0.1 -p $PORT -k /tmp' -l $DIR/server.log -w start" >/dev/null
fi
if ! psql -h 127.0.0.1 -p "$PORT" -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname='mm_test'" | grep -q 1; then
  createdb -h 127.0.0.1 -p "$PORT" -U postgres mm_test
fi
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/mm_test"
