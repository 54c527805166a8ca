#!/usr/bin/env bash
# Starts a throwaway PostgreSQL cluster on a free loopback port and prints its URL.
# Usage: .ci/postgres-up.sh DIR   (stop it with: su postgres -c "pg_ctl -D DIR/pg stop")
set -euo pipefail
dir=${1:?usage: postgres-up.sh DIR}
mkdir -p "$dir"
chown postgres "$dir"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
pgbin=$(command -v initdb >/dev/null 2>&1 && dirname "$(command -v initdb)" || ls -d /usr/lib/postgresql/*/bin | tail -n 1)
su postgres -c "$pgbin/initdb -D $dir/pg -U postgres --auth=trust --locale=C.UTF-8 >$dir/initdb.log 2>&1"
su postgres -c "$pgbin/pg_ctl -D $dir/pg -o '-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off' -l $dir/pg.log -w start >/dev/null"
echo "postgres://postgres@127.0.0.1:$port/postgres"
