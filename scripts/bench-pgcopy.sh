#!/usr/bin/env bash
# The downtime copy at size: generates a finance-like database of at
# least 1 GB (bench/finance-db.sql: staff, projects, timesheets, foreign
# keys, indexes, a trigger) on the main PostgreSQL cluster (the "old host", 127.0.0.1:5432), starts a second
# cluster made with initdb on 127.0.0.1:5433 (the "new host"), copies the
# database with cutover's pg_copy, then checks identical row counts and an
# identical schema (pg_dump --schema-only, diff empty). Nothing of it is
# committed; the second cluster and both databases are removed at the end.
#
#   scripts/bench-pgcopy.sh [ROWS]    # timesheet rows, default 7000000 (about 1.1 GB)
# The table goes to bench/RESULTS.md too.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
rows=${1:-7500000}
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

echo "== generating $src ($rows timesheet rows)"
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $src WITH (FORCE)" -c "CREATE DATABASE $src"
time psql -h 127.0.0.1 -U postgres -q -v ON_ERROR_STOP=1 -v rows="$rows" -f bench/finance-db.sql "$src" >/dev/null
size=$(psql -h 127.0.0.1 -U postgres -tAc "SELECT pg_database_size('$src')")
echo "source size: $((size / 1024 / 1024)) MiB"

make -s build BIN="$work/cutover"
jobs=${JOBS:-$(nproc)}
newpsql() { psql -h 127.0.0.1 -p "$new_port" -U postgres -qtA "$@"; }
fresh() { newpsql -c "DROP DATABASE IF EXISTS $dst WITH (FORCE)" -c "CREATE DATABASE $dst"; }
seconds() { local s=$(date +%s.%N); "$@"; echo "$(date +%s.%N) - $s" | bc; }

pgcopy() { # pgcopy JOBS: cutover's pg_copy into a fresh target, row counts verified by the module
  cat > "$work/copy.yml" <<YML
- hosts: localhost
  gather_facts: false
  tasks:
    - pg_copy:
        db: $dst
        login_port: $new_port
        create: true
        jobs: $1
        work_dir: $work
        source: {db: $src, login_host: 127.0.0.1, login_port: 5432}
      register: copied
    - debug: {msg: "{{ copied.msg }}"}
YML
  NO_COLOR=1 "$work/cutover" run -i 'localhost,' -c local "$work/copy.yml" > "$work/copy.out" || { cat "$work/copy.out"; exit 1; }
}
raw_pipe() { pg_dump -h 127.0.0.1 -p 5432 -U postgres -Fc "$src" | pg_restore -h 127.0.0.1 -p "$new_port" -U postgres --no-owner --single-transaction --exit-on-error -d "$dst"; }
raw_dir() {
  rm -rf "$work/dir"
  pg_dump -h 127.0.0.1 -p 5432 -U postgres -Fd -j "$jobs" -f "$work/dir" "$src"
  pg_restore -h 127.0.0.1 -p "$new_port" -U postgres --no-owner --exit-on-error -j "$jobs" -d "$dst" "$work/dir"
  rm -rf "$work/dir"
}

strip() { grep -v -E '^\\(un)?restrict '; }
pg_dump -h 127.0.0.1 -p 5432 -U postgres --schema-only "$src" | strip > "$work/src.sql"
check_copy() {
  pg_dump -h 127.0.0.1 -p "$new_port" -U postgres --schema-only "$dst" | strip > "$work/dst.sql"
  diff "$work/src.sql" "$work/dst.sql" >/dev/null || { echo "schema differs"; exit 1; }
  for tbl in staff projects timesheets; do
    a=$(psql -h 127.0.0.1 -p 5432 -U postgres -tAc "SELECT count(*) FROM $tbl" "$src")
    b=$(newpsql -c "SELECT count(*) FROM $tbl" "$dst")
    [ "$a" = "$b" ] || { echo "$tbl: $b rows, source $a"; exit 1; }
  done
}

echo "== the same copy four ways ($jobs jobs where parallel); each checked: schema diff empty, row counts equal"
results=$work/results.md
{
  echo "## Database copy: $((size / 1048576)) MiB finance-like database ($(date -u +%Y-%m-%d), $(nproc) cores)"
  echo
  echo "| way | seconds | MiB/s | vs its raw counterpart |"
  echo "|:---|---:|---:|---:|"
} > "$results"
row() { # row NAME SECONDS [RAW_SECONDS]
  local rate; rate=$(echo "$size / 1048576 / $2" | bc -l)
  printf '%-40s %8.1f %10.0f\n' "$1" "$2" "$rate"
  printf '| %s | %.1f | %.0f | %s |\n' "${1//|/\\|}" "$2" "$rate" "${3:+$(printf '%.2fx' "$(echo "$3 / $2" | bc -l)")}" >> "$results"
}
printf '%-40s %8s %10s\n' "way" "seconds" "MiB/s"
fresh; raw1=$(seconds raw_pipe); check_copy; row "pg_dump -Fc | pg_restore (raw pipe)" "$raw1"
newpsql -c "DROP DATABASE $dst WITH (FORCE)"; t=$(seconds pgcopy 1); check_copy; row "cutover pg_copy (stream)" "$t" "$raw1"
note1=$(grep -o '"copied a .*verified' "$work/copy.out" | head -1 | tr -d '"')
fresh; rawj=$(seconds raw_dir); check_copy; row "pg_dump -Fd -j $jobs + pg_restore -j $jobs" "$rawj"
newpsql -c "DROP DATABASE $dst WITH (FORCE)"; t=$(seconds pgcopy "$jobs"); check_copy; row "cutover pg_copy (jobs: $jobs)" "$t" "$rawj"
notej=$(grep -o '"copied a .*verified' "$work/copy.out" | head -1 | tr -d '"')
{
  echo
  echo "- pg_copy (stream), as it reports itself: $note1"
  echo "- pg_copy (jobs: $jobs): $notej"
  echo "- every copy checked afterwards: schema dumps identical, row counts of every table equal; pg_copy's seconds include its own row-count verification"
  echo
} >> "$results"
cat "$results" >> bench/RESULTS.md
