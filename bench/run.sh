#!/usr/bin/env bash
# The speed benchmark (make bench, as root): an SSH lab of HOSTS hosts on
# loopback, the same converged playbook run by ansible-playbook (default
# settings, and tuned: pipelining + ControlPersist), by cutover (with its
# default, Ansible's ssh_args: connections kept 60 s; and with a connection
# per run), and by two shell floors over already open (multiplexed) ssh
# connections: one script per host doing the same idempotent edits, and one
# ssh exec per task. hyperfine measures each side by side; the tables go
# to bench/RESULTS.md (bench/syntax.sh times --syntax-check).
#
#   bench/run.sh [HOSTS] [TASKS]     # default 7 hosts, 10 tasks (10 or 50)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
hosts=${1:-7} tasks=${2:-10} runs=${RUNS:-5}
[ "$(id -u)" -eq 0 ] || { echo "bench needs root (the SSH lab)" >&2; exit 1; }
command -v hyperfine >/dev/null || { apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null; }
./scripts/setup.sh >/dev/null

lab=/var/tmp/cutover-bench-lab
book=bench/playbooks/files$tasks.yml
scripts/sshlab.sh down "$lab" >/dev/null 2>&1 || true
rm -rf "$lab" /tmp/cutover-bench
scripts/sshlab.sh up "$lab" "$hosts" 61 >/dev/null
export ANSIBLE_SSH_CONTROL_PATH_DIR=$lab/cp # cutover's keeper, stopped at the end
trap 'bin/cutover keeper stop; for m in "$lab"/cm-*; do ssh -o ControlPath="$m" -O exit x 2>/dev/null || true; done; scripts/sshlab.sh down "$lab" >/dev/null; rm -rf "$lab"' EXIT
inv=$lab/hosts.ini
make -s build

# Ansible: its own temp dirs; tuned = pipelining + ControlPersist.
export ANSIBLE_NOCOLOR=1 ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_LOCAL_TEMP=$lab/ansible-tmp ANSIBLE_HOME=$lab/ansible-home
# Default: Ansible's own ssh_args (ControlPersist=60s), no pipelining.
known="-o UserKnownHostsFile=$lab/known_hosts"
ansible_default="ANSIBLE_SSH_COMMON_ARGS='$known' ansible-playbook -i $inv $book -f $hosts"
ansible_tuned="ANSIBLE_PIPELINING=1 ANSIBLE_SSH_ARGS='$known -o ControlMaster=auto -o ControlPersist=300s' ansible-playbook -i $inv $book -f $hosts"
cutover="bin/cutover run -i $inv $book -f $hosts"
cutover_unkept="ANSIBLE_SSH_ARGS=-C $cutover"

# The floors' multiplexed connections, opened before measuring.
for i in $(seq 1 "$hosts"); do
  ssh -fNM -o ControlPath="$lab/cm-$i" -o UserKnownHostsFile="$lab/known_hosts" -i "$lab/id_ed25519" -p 2222 "root@127.0.61.$i"
done
# The same idempotent edits as the playbook, as shell, one set per 10 tasks.
floor_script() { # floor_script HOST
  local d=/tmp/cutover-bench/$1 k
  for k in $(seq 1 $((tasks / 10))); do
    cat <<SH
[ -d $d/set$k ] || mkdir -p $d/set$k
printf 'managed by the benchmark, set $k\n' | cmp -s - $d/set$k/copied.txt || printf 'managed by the benchmark, set $k\n' > $d/set$k/copied.txt
grep -qx "listen_addresses = '*'" $d/set$k/app.conf 2>/dev/null || echo "listen_addresses = '*'" >> $d/set$k/app.conf
grep -qx 'port = 5432' $d/set$k/app.conf || echo 'port = 5432' >> $d/set$k/app.conf
grep -q '10.0.10.49 finance' $d/set$k/hosts 2>/dev/null || printf '# BEGIN\n10.0.10.49 finance.thehumanjourney.net\n10.0.10.43 hrdb.thehumanjourney.net\n# END\n' >> $d/set$k/hosts
[ -f $d/set$k/conn.txt ] || echo host=finance.thehumanjourney.net > $d/set$k/conn.txt
grep -q '10\.0\.10\.48' $d/set$k/conn.txt && sed -i 's/10\.0\.10\.48/finance.thehumanjourney.net/' $d/set$k/conn.txt
[ "\$(stat -c %a $d/set$k/copied.txt)" = 644 ] || chmod 644 $d/set$k/copied.txt
[ -L $d/set$k/current ] || ln -s $d/set$k/copied.txt $d/set$k/current
true
SH
  done
}
for i in $(seq 1 "$hosts"); do floor_script "host$i" > "$lab/floor-$i.sh"; done
floor_script_cmd="for i in \$(seq 1 $hosts); do ssh -o ControlPath=$lab/cm-\$i -p 2222 root@127.0.61.\$i sh -s < $lab/floor-\$i.sh & done; wait"
floor_exec_cmd="for i in \$(seq 1 $hosts); do (while read -r line; do ssh -o ControlPath=$lab/cm-\$i -p 2222 root@127.0.61.\$i \"\$line\" </dev/null || true; done < $lab/floor-\$i.sh) & done; wait"

echo "== converging ($hosts hosts, $tasks tasks each)"
bash -c "$ansible_tuned" >/dev/null
$cutover >/dev/null
bash -c "$floor_script_cmd"

echo "== measuring ($runs runs each)"
hyperfine -w 1 -r "$runs" --export-markdown "$lab/results.md" --export-json "$lab/results.json" \
  -n "ansible-playbook (default)" "$ansible_default" \
  -n "ansible-playbook (tuned)" "$ansible_tuned" \
  -n "cutover run" "$cutover" \
  -n "cutover run, a connection per run" "$cutover_unkept" \
  -n "cutover run --check --diff" "$cutover --check --diff" \
  -n "shell floor: one script per host" "$floor_script_cmd" \
  -n "shell floor: one exec per task" "$floor_exec_cmd"
rss=$( { /usr/bin/time -v $cutover >/dev/null; } 2>&1 | sed -n 's/.*Maximum resident set size (kbytes): //p')
keeper_rss=$(ps -o rss= -C cutover | sort -n | tail -1)

out=bench/RESULTS.md
{
  echo "## $hosts hosts x $tasks tasks ($(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r))"
  echo
  echo "Machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GB RAM, $(. /etc/os-release; echo "$PRETTY_NAME"), OpenSSH $(ssh -V 2>&1 | cut -d, -f1 | cut -d_ -f2), $(ansible --version | head -1)."
  echo
  cat "$lab/results.md"
  echo
  python3 - "$lab/results.json" <<'PY'
import json, sys
r = {x["command"]: x["median"] for x in json.load(open(sys.argv[1]))["results"]}
c = r["cutover run"]
for name in ["ansible-playbook (default)", "ansible-playbook (tuned)", "shell floor: one script per host", "shell floor: one exec per task"]:
    print(f"- {name}: {r[name]:.3f} s median; cutover is {r[name] / c:.1f}x as fast")
print(f"- cutover, a connection per run: {r['cutover run, a connection per run']:.3f} s median")
print(f"- cutover --check --diff / real run: {r['cutover run --check --diff'] / c:.2f}")
PY
  echo "- cutover peak RSS: $((rss / 1024)) MB (its connection keeper: $((keeper_rss / 1024)) MB)"
  echo
} | tee -a "$out"
