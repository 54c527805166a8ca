#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a free loopback port, for the tests (CI and `npm run test:full`).
#   scripts/throwaway-postgres.sh up DIR     initdb + start under DIR, prints postgres://…
#   scripts/throwaway-postgres.sh down DIR   stops it (DIR is then safe to remove)
# PostgreSQL refuses to run as root: as root it runs as the `postgres` user (Debian's postgresql package makes it).
set -euo pipefail
action=${1:-}
dir=${2:-}
if [ -z "$dir" ] || { [ "$action" != up ] && [ "$action" != down ]; }; then
  echo "usage: $0 up|down DIR" >&2
  exit 2
fi
pgbin=$(command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -n 1)
[ -x "$pgbin/initdb" ] || { echo "initdb not found (apt-get install -y postgresql-15)" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" = 0 ]; then su postgres -c "$1"; else bash -c "$1"; fi
}
if [ "$action" = down ]; then
  [ -d "$dir/pg" ] && as_owner "$pgbin/pg_ctl -D $dir/pg stop -m fast" >/dev/null 2>&1 || true
  exit 0
fi
mkdir -p "$dir"
[ "$(id -u)" = 0 ] && chown postgres "$dir"
port=$(node -e 'const s=require("node:net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
as_owner "$pgbin/initdb -D $dir/pg -U postgres --auth=trust --locale=C.UTF-8 >$dir/initdb.log 2>&1"
as_owner "$pgbin/pg_ctl -D $dir/pg -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off' -l $dir/pg.log -w start >/dev/null"
echo "postgres://postgres@127.0.0.1:$port/postgres"
