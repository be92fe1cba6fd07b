#!/usr/bin/env bash
# The downtime copy at size: generates a database of at least 1 GB on the
# main PostgreSQL cluster (the "old host", 127.0.0.1:5432), starts a second
# cluster made with initdb on 127.0.0.1:5433 (the "new host"), copies the
# database with cutover's pg_copy, then checks identical row counts and an
# identical schema (pg_dump --schema-only, diff empty). Nothing of it is
# committed; the second cluster and both databases are removed at the end.
#
#   scripts/bench-pgcopy.sh [SCALE]    # pgbench scale, default 75 (about 1.1 GB)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
scale=${1:-75}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
work=$(mktemp -d /var/tmp/cutover-bench.XXXXXX)
chown postgres "$work"
new_port=5433
src=cutover_bench_src dst=cutover_bench_dst

cleanup() {
  su postgres -c "$bin/pg_ctl -D $work/new -m fast stop" >/dev/null 2>&1 || true
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $src WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== a second cluster (the new host) on 127.0.0.1:$new_port, made with initdb"
su postgres -c "$bin/initdb -D $work/new --auth=trust -U postgres" >/dev/null
su postgres -c "$bin/pg_ctl -D $work/new -o '-p $new_port -c listen_addresses=127.0.0.1 -k $work' -l $work/new.log -w start" >/dev/null

echo "== generating $src (pgbench scale $scale)"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $src WITH (FORCE)" -c "CREATE DATABASE $src"
time pgbench -h 127.0.0.1 -U postgres -i -q -s "$scale" "$src" >/dev/null 2>&1
size=$(psql -h 127.0.0.1 -U postgres -tAc "SELECT pg_database_size('$src')")
echo "source size: $((size / 1024 / 1024)) MiB"

go build -o "$work/cutover" ./cmd/cutover
cat > "$work/copy.yml" <<YML
- hosts: localhost
  gather_facts: false
  tasks:
    - pg_copy:
        db: $dst
        login_port: $new_port
        create: true
        source: {db: $src, login_host: 127.0.0.1, login_port: 5432}
      register: copied
    - debug: {msg: "{{ copied.msg }}"}
YML
echo "== pg_copy"
time NO_COLOR=1 "$work/cutover" run -i 'localhost,' -c local "$work/copy.yml" | grep -E '"msg"|RECAP|localhost '

echo "== schema diff (must be empty)"
strip() { grep -v -E '^\\(un)?restrict '; }
pg_dump -h 127.0.0.1 -p 5432 -U postgres --schema-only "$src" | strip > "$work/src.sql"
pg_dump -h 127.0.0.1 -p "$new_port" -U postgres --schema-only "$dst" | strip > "$work/dst.sql"
diff "$work/src.sql" "$work/dst.sql" && echo "schemas identical"
for t in pgbench_accounts pgbench_branches pgbench_tellers pgbench_history; do
  a=$(psql -h 127.0.0.1 -p 5432 -U postgres -tAc "SELECT count(*) FROM $t" "$src")
  b=$(psql -h 127.0.0.1 -p "$new_port" -U postgres -tAc "SELECT count(*) FROM $t" "$dst")
  [ "$a" = "$b" ] || { echo "$t: $b rows, source $a"; exit 1; }
  echo "$t: $a rows, equal"
done
